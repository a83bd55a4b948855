/**
 * The launcher process of harness/native.ts: starts native reference tools on request (over the IPC
 * channel) and times each from spawn to exit, so the benchmark process itself never forks while it is
 * being measured. One request at a time per id; requests run concurrently.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export interface LaunchRequest {
  id: number;
  cmd: string;
  args: string[];
  /** Send stdout to this file (e.g. /dev/null) instead of capturing it. */
  stdoutFile?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
}

export interface LaunchReply {
  id: number;
  seconds?: number;
  stdout?: string;
  stderr?: string;
  error?: string;
}

function run(req: LaunchRequest): Promise<LaunchReply> {
  return new Promise((resolve) => {
    const fd = req.stdoutFile ? fs.openSync(req.stdoutFile, 'w') : undefined;
    const t0 = process.hrtime.bigint();
    const child = spawn(req.cmd, req.args, {
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
      env: { ...process.env, ...req.env },
      cwd: req.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => {
      if (fd !== undefined) fs.closeSync(fd);
      resolve({ id: req.id, error: `${req.cmd}: ${err.message}` });
    });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (fd !== undefined) fs.closeSync(fd);
      if (code !== 0) resolve({ id: req.id, error: `${req.cmd} ${req.args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}` });
      else resolve({ id: req.id, seconds, stdout, stderr });
    });
  });
}

if (process.send) {
  process.on('message', (req: LaunchRequest) => {
    void run(req).then((reply) => process.send?.(reply));
  });
  process.on('disconnect', () => process.exit(0));
}
