/**
 * Starting the training process. Node hosts (browser mode, CLI, tests) fork a child Node process; the
 * Electron host passes its own spawner (utilityProcess), because a packaged app has the runAsNode fuse off.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EvalJob, TrainJob, WorkerMessage } from './jobs.js';

export interface WorkerHandle {
  send(msg: { type: 'start'; job: TrainJob } | { type: 'eval'; job: EvalJob } | { type: 'control'; request: 'stop' | 'pause' }): void;
  onMessage(cb: (m: WorkerMessage) => void): void;
  onExit(cb: (code: number | null, signal: string | null, stderrTail: string) => void): void;
  kill(): void;
  pid?: number;
}

export type WorkerSpawner = () => WorkerHandle;

/** app/dist/worker.js next to the bundle, or the TypeScript source run through tsx. */
export function workerScript(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.js')) {
    const bundled = fileURLToPath(new URL('./worker.js', here));
    if (existsSync(bundled)) return { path: bundled, execArgv: [] };
  }
  return { path: fileURLToPath(new URL('./worker.ts', here)), execArgv: ['--import', 'tsx'] };
}

export const nodeSpawner: WorkerSpawner = () => {
  const { path, execArgv } = workerScript();
  const child = fork(path, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as WorkerMessage)),
    onExit: (cb) => child.on('exit', (code, signal) => cb(code, signal, tail)),
    kill: () => child.kill('SIGKILL'),
  };
};
