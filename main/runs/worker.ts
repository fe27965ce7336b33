/**
 * The training process: runs one training job and streams its events to the parent over IPC. Training
 * never runs on the UI's event loop, and a crash or an out-of-memory here leaves the app running: the
 * parent sees the exit and reports it with the last checkpoint (product.md #7).
 *
 * Parent → worker: { type: 'start', job } | { type: 'control', request: 'stop' | 'pause' } | { type: 'eval', job }
 * Worker → parent: { type: 'event', event } | { type: 'finished', status, eval } | { type: 'failed', message, code? }
 *                  | { type: 'eval-progress', stage, done, total } | { type: 'eval-finished', result }
 * An evaluation (`eval.run`) uses the same process kind, so it too stays off the service's event loop.
 */
import type { EvalJob, TrainJob, WorkerMessage } from './jobs.js';
import { runEvalJob, runJob } from './jobs.js';
import type { TrainControl } from '../training/engine/trainer.js';

const control: TrainControl = {};
/** Electron's utilityProcess talks through process.parentPort; a forked Node child through process.send. */
const parentPort = (process as unknown as { parentPort?: { postMessage(m: unknown): void; on(ev: 'message', cb: (e: { data: unknown }) => void): void } }).parentPort;
const send = (m: WorkerMessage) => {
  if (parentPort) parentPort.postMessage(m);
  else if (process.send) process.send(m);
};

/** The failure as the parent gets it: the message, and the error's stable code (E_…) when it has one. */
const failed = (e: Error & { code?: unknown }): WorkerMessage => ({ type: 'failed', message: e?.message ?? String(e), ...(typeof e?.code === 'string' && e.code.startsWith('E_') ? { code: e.code } : {}) });

const onMessage = (raw: unknown) => {
  const msg = raw as { type?: string; job?: TrainJob & EvalJob; request?: 'stop' | 'pause' };
  if (msg?.type === 'eval' && msg.job) {
    runEvalJob(msg.job, (p) => send({ type: 'eval-progress', ...p }))
      .then((result) => {
        send({ type: 'eval-finished', result });
        setTimeout(() => process.exit(0), 50);
      })
      .catch((e: Error) => {
        send(failed(e));
        setTimeout(() => process.exit(1), 50);
      });
  }
  if (msg?.type === 'control' && (msg.request === 'stop' || msg.request === 'pause')) control.request = msg.request;
  if (msg?.type === 'start' && msg.job) {
    runJob(msg.job, control, (event) => send({ type: 'event', event }))
      .then((r) => {
        send({ type: 'finished', status: r.status, eval: r.eval ?? null });
        setTimeout(() => process.exit(0), 50);
      })
      .catch((e: Error) => {
        send(failed(e));
        setTimeout(() => process.exit(1), 50);
      });
  }
};
if (parentPort) parentPort.on('message', (e) => onMessage(e.data));
else process.on('message', onMessage);
// The parent went away (app closed or crashed): checkpoint and stop rather than train headless forever.
process.on('disconnect', () => {
  control.request = 'stop';
});
send({ type: 'ready' } as WorkerMessage);
