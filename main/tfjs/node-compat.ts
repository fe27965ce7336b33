/**
 * Node ≥ 23 removed the long-deprecated `util.is*` type checks (DEP0044…DEP0058). @tensorflow/tfjs-node
 * and tfjs-node-gpu 4.22 still call `util.isNullOrUndefined` and `util.isArray` (in their op wrappers and
 * `nodejs_kernel_backend.js`), so on Electron 45's Node they crash on the first kernel. This installs the
 * missing functions on `node:util` (the object their `require('util')` returns) before they load, with
 * Node's own documented semantics; a function Node still has is never replaced.
 */
import util from 'node:util';

const LEGACY_UTIL: Record<string, (v: unknown) => boolean> = {
  isArray: (v) => Array.isArray(v),
  isBoolean: (v) => typeof v === 'boolean',
  isNull: (v) => v === null,
  isNullOrUndefined: (v) => v === null || v === undefined,
  isNumber: (v) => typeof v === 'number',
  isString: (v) => typeof v === 'string',
  isSymbol: (v) => typeof v === 'symbol',
  isUndefined: (v) => v === undefined,
  isObject: (v) => v !== null && typeof v === 'object',
  isFunction: (v) => typeof v === 'function',
  isPrimitive: (v) => v === null || (typeof v !== 'object' && typeof v !== 'function'),
};

/** Installs the missing legacy `util.is*` functions. Returns the names it added (none on Node < 23). */
export function installNodeUtilShim(): string[] {
  const target = util as unknown as Record<string, unknown>;
  const added: string[] = [];
  for (const [name, f] of Object.entries(LEGACY_UTIL)) {
    if (typeof target[name] === 'function') continue;
    try {
      Object.defineProperty(target, name, { value: f, writable: true, configurable: true, enumerable: true });
      added.push(name);
    } catch {
      // A frozen util (never seen): the native backend will then fail to load and be reported as failed.
    }
  }
  return added;
}
