import type { CompiledModel } from './keras.js';

/** FNV-1a over a string, mixed with the run seed: a stable 31-bit seed per (layer, initializer). */
function hashSeed(seed: number, key: string): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return h & 0x7fffffff;
}

/**
 * A copy of the compiled topology whose random initializers carry seeds derived from the run seed and
 * the layer name, so a fresh model is reproducible: two runs with the same seed start from the same
 * weights (resume checks, run comparisons that isolate one change).
 */
export function seedInitializers(compiled: CompiledModel, seed: number): CompiledModel {
  const copy = JSON.parse(JSON.stringify(compiled)) as CompiledModel;
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((x, i) => visit(x, `${path}/${i}`));
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if (typeof o.class_name === 'string' && typeof o.config === 'object' && o.config !== null && 'seed' in (o.config as object))
      (o.config as Record<string, unknown>).seed = hashSeed(seed, path);
    for (const [k, v] of Object.entries(o)) visit(v, `${path}/${typeof o.name === 'string' ? o.name : k}`);
  };
  visit(copy.modelTopology, '');
  return copy;
}
