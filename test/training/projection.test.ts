/**
 * The embedding map (main/training/eval/projection.ts): seeded (the same features and seed give the same
 * map, another seed another one), neighbourhood-preserving by scikit-learn's `trustworthiness` against the
 * features' cosine geometry, and bad input refused in one line.
 */
import { describe, expect, it } from 'vitest';
import { projectFeatures } from '../../main/training/eval/projection.js';
import { runPython, testRandom } from './python.js';

/** Identity clusters in 64-d with a per-camera offset (the camera bias the map is for). */
function clusters(seed: number, ids: number, perId: number, dim: number) {
  const r = testRandom(seed);
  const centre = Array.from({ length: ids }, () => Array.from({ length: dim }, () => r() * 2 - 1));
  const cam = Array.from({ length: 3 }, () => Array.from({ length: dim }, () => (r() - 0.5) * 0.6));
  const rows: number[][] = [];
  for (let i = 0; i < ids; i++) for (let k = 0; k < perId; k++) rows.push(centre[i]!.map((c, d) => c + cam[k % 3]![d]! + (r() - 0.5) * 0.8));
  return { rows, data: Float32Array.from(rows.flat()), n: rows.length, dim };
}

describe('embedding map (PCA → kNN → umap-js UMAP, seeded, in a worker thread)', () => {
  it('is reproducible per seed, keeps neighbourhoods (sklearn trustworthiness) and reports progress', async () => {
    const c = clusters(3, 24, 10, 64);
    const f = { data: c.data, rows: c.n, dim: c.dim };
    const stages = new Set<string>();
    const a = await projectFeatures(f, { seed: 7, nEpochs: 150, onProgress: (p) => stages.add(p.stage) });
    const b = await projectFeatures(f, { seed: 7, nEpochs: 150 });
    const other = await projectFeatures(f, { seed: 8, nEpochs: 150 });
    expect(a.xy.length).toBe(c.n * 2);
    expect(Array.from(b.xy)).toEqual(Array.from(a.xy));
    expect(Array.from(other.xy)).not.toEqual(Array.from(a.xy));
    expect([...stages].sort()).toEqual(['layout', 'neighbours', 'pca']);
    const y = Array.from({ length: c.n }, (_, i) => [a.xy[2 * i]!, a.xy[2 * i + 1]!]);
    const { trustworthiness } = runPython<{ trustworthiness: number }>('ref_projection.py', { x: c.rows, y, k: 5 });
    // A random layout scores ≈ 0.5; a map that keeps identity clusters scores close to 1.
    expect(trustworthiness).toBeGreaterThan(0.9);
  });

  it('refuses too few points and non-finite features in one line', async () => {
    await expect(projectFeatures({ data: new Float32Array(6), rows: 3, dim: 2 })).rejects.toThrow(/at least 4 images \(got 3\)/);
    const bad = new Float32Array(8 * 2).fill(1);
    bad[5] = NaN;
    await expect(projectFeatures({ data: bad, rows: 8, dim: 2 })).rejects.toThrow(/non-finite value in row 2/);
  });
});
