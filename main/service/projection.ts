/**
 * `runs.projection`: the embedding map of a run's last evaluation (its stored eval features, query rows
 * then gallery rows) by main/training/eval/projection.ts. The last few maps are kept in memory, keyed by
 * run folder, seed and the features' size and checksum, so reopening the view does not redo the layout.
 */
import { ApiError, type CallOutput } from '../../core/api/contract.js';
import type { readEvalFeatures } from '../training/engine/eval-features.js';
import { MIN_PROJECTION_POINTS, projectFeatures, type ProjectionOptions } from '../training/eval/projection.js';

type Features = NonNullable<Awaited<ReturnType<typeof readEvalFeatures>>>;
type Output = CallOutput<'runs.projection'>;

const cache = new Map<string, Promise<Output>>();
const CACHE_SIZE = 4;

function checksum(a: Float32Array): number {
  let h = 0x811c9dc5;
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < u.length; i += 7) h = Math.imul(h ^ u[i]!, 0x01000193) >>> 0;
  return h;
}

export function runProjection(feats: Features, seed: number, onProgress: NonNullable<ProjectionOptions['onProgress']>): Promise<Output> {
  const m = feats.matrices();
  const n = m.query.rows + m.gallery.rows;
  if (n < MIN_PROJECTION_POINTS) throw new ApiError('E_BAD_REQUEST', `an embedding map needs at least ${MIN_PROJECTION_POINTS} images (this evaluation has ${n})`);
  const data = new Float32Array(n * m.query.dim);
  data.set(m.query.data);
  data.set(m.gallery.data, m.query.data.length);
  const key = `${seed}\n${n}\n${m.query.dim}\n${checksum(data)}`;
  let p = cache.get(key);
  if (!p) {
    p = projectFeatures({ data, rows: n, dim: m.query.dim }, { seed, onProgress }).then((r) => ({
      seed,
      epochs: r.epochs,
      numQuery: m.query.rows,
      xy: Array.from(r.xy),
      images: [...feats.query.map((x) => ({ path: x.path, pid: x.pid, camid: x.camid, split: 'query' as const })), ...feats.gallery.map((x) => ({ path: x.path, pid: x.pid, camid: x.camid, split: 'gallery' as const }))],
    }));
    p.catch(() => cache.delete(key));
    cache.set(key, p);
    while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  return p;
}
