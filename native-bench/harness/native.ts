import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

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
 */
export function runNative(cmd: string, args: readonly string[], options: NativeOptions = {}): Promise<NativeRun> {
  return new Promise((resolve, reject) => {
    const fd = options.stdoutFile ? fs.openSync(options.stdoutFile, 'w') : undefined;
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      if (fd !== undefined) fs.closeSync(fd);
      reject(err);
    });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (fd !== undefined) fs.closeSync(fd);
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve({ seconds, stdout, stderr });
    });
  });
}
