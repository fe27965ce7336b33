/** Worker-thread entry: generates the demo dataset off the service's event loop (workerData: dir, size, seed). */
import { parentPort, workerData } from 'node:worker_threads';
import { writeDemoDataset, type DemoSize } from './demo.js';

const { dir, size, seed } = workerData as { dir: string; size: DemoSize; seed: number };
writeDemoDataset(dir, size, seed).then(
  () => parentPort?.postMessage({ ok: true }),
  (e: Error) => parentPort?.postMessage({ ok: false, message: e.message }),
);
