/**
 * The tfjs backend names, the `--backend` parsing and its error, without TensorFlow.js: what the engine
 * choice (main/onnx) and the CLI need before — or instead of — loading tfjs (backend.ts re-exports them).
 */
import { BACKEND_NAMES, type BackendName } from '../../core/training/backends.js';
export { BACKEND_NAMES, type BackendName };
export type BackendChoice = BackendName | 'auto';

export class BackendError extends Error {}

export function parseBackendChoice(v: string | undefined): BackendChoice {
  if (v === undefined || v === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new BackendError(`unknown backend "${v}" (choose one of auto, ${BACKEND_NAMES.join(', ')})`);
}
