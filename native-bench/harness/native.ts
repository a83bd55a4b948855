import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LaunchReply, LaunchRequest } from './launcher.js';

/** Whether an executable is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export interface NativeRun {
  readonly seconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NativeOptions {
  /** Send stdout to this file (e.g. /dev/null) instead of capturing it. */
  readonly stdoutFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly cwd?: string | undefined;
}

/**
 * Runs a native tool to completion and times the whole process (spawn to exit): what a user of the
 * CLI pays, start-up included. Fails on a non-zero exit.
 *
 * The process is started by a small launcher process (launcher.ts), not by the benchmark process: on
 * Node 20 a spawn is a plain fork(), and forking a benchmark process of several hundred MB write-protects
 * all its pages, so the next timed run of ours paid a copy-on-write fault per page it wrote (~10 000 per
 * 64 MiB open, more than the work itself; probes/seal-fork-cost.ts) and the reference's time included
 * copying our page tables. The launcher is forked once, before any stage runs.
 */
export function runNative(cmd: string, args: readonly string[], options: NativeOptions = {}): Promise<NativeRun> {
  return launcher().run({ cmd, args: [...args], ...options });
}

/** Starts the launcher now (before the benchmark process grows); runNative starts it on first use otherwise. */
export function startLauncher(): void {
  launcher();
}

let current: Launcher | undefined;

function launcher(): Launcher {
  current ??= new Launcher();
  return current;
}

class Launcher {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (r: NativeRun) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./launcher.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: LaunchReply) => {
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve({ seconds: m.seconds ?? 0, stdout: m.stdout ?? '', stderr: m.stderr ?? '' });
    });
    this.#child.on('exit', (code) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`the launcher process exited (${code})`));
      this.#waiting.clear();
      if (current === this) current = undefined;
    });
    // Idle, the launcher keeps nobody alive; a request in flight keeps the channel referenced.
    this.#child.unref();
    this.#child.channel?.unref();
  }

  run(req: Omit<LaunchRequest, 'id'>): Promise<NativeRun> {
    const id = this.#next++;
    const settled = new Promise<NativeRun>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#child.channel?.ref();
      this.#child.send({ id, ...req } satisfies LaunchRequest);
    });
    return settled.finally(() => {
      if (this.#waiting.size === 0) this.#child.channel?.unref();
    });
  }
}
