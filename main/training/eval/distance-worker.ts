/**
 * Worker thread for the query×gallery product of the evaluation. Each worker owns a private TF.js engine on
 * the wasm backend (XNNPACK SIMD matMul, ~18 GFLOP/s per core here vs ~1–2 GFLOP/s for plain JS loops),
 * so it never disturbs the backend the trainer has selected in the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

interface Init {
  /** Query rows, Q×D row-major. */
  q: SharedArrayBuffer;
  /** Gallery transposed, D×G row-major: wasm's transposed matMul is 10–30× slower, so transpose in JS. */
  gT: SharedArrayBuffer;
  /** Output dot products, Q×G row-major. */
  out: SharedArrayBuffer;
  numQ: number;
  numG: number;
  dim: number;
  block: number;
}

async function main(): Promise<void> {
  const w = workerData as Init;
  await tf.setBackend('wasm');
  await tf.ready();
  const gT = tf.tensor2d(new Float32Array(w.gT), [w.dim, w.numG]);
  const q = new Float32Array(w.q);
  const out = new Float32Array(w.out);
  parentPort!.on('message', (msg: { start: number } | { done: true }) => {
    if ('done' in msg) {
      gT.dispose();
      parentPort!.close();
      return;
    }
    try {
      const rows = Math.min(w.block, w.numQ - msg.start);
      const qb = tf.tensor2d(q.subarray(msg.start * w.dim, (msg.start + rows) * w.dim), [rows, w.dim]);
      const prod = tf.matMul(qb, gT);
      const data = prod.dataSync() as Float32Array;
      out.set(data, msg.start * w.numG);
      qb.dispose();
      prod.dispose();
      parentPort!.postMessage({ start: msg.start });
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message });
    }
  });
  parentPort!.postMessage({ ready: true });
}

main().catch((e: Error) => parentPort!.postMessage({ error: e.message }));
