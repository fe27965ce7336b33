/**
 * Worker thread of `weights.inspect`: reads and maps a checkpoint off the service's event loop (issue #25:
 * a large or hostile file parsed on the loop stalled every other call). workerData: { path, graph | null,
 * keepClassifier }; posts { ok: true, result } or { ok: false, message, code }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyze, type Graph } from '../../core/index.js';
import { CheckpointError, inspectCheckpoint } from '../weights/index.js';

const { path, graph, keepClassifier } = workerData as { path: string; graph: Graph | null; keepClassifier: boolean };
inspectCheckpoint(path, graph ? analyze(graph).layers : null, keepClassifier).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (e: Error) => parentPort!.postMessage({ ok: false, message: e.message.split('\n')[0], code: e instanceof CheckpointError ? e.code : null }),
);
