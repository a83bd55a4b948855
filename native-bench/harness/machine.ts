import os from 'node:os';
import type { Machine } from './types.js';

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    loadavg1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}
