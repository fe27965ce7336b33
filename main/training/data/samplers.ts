/**
 * Batch samplers with serialisable state (resume restores the RNG and the epoch counter).
 *
 * RandomIdentitySampler follows RSB data/samplers/triplet_sampler.py exactly:
 * per identity, the image list is drawn with replacement up to K if shorter than K, shuffled and cut into
 * groups of K (remainder dropped); then P distinct identities that still have groups are picked at random
 * and one group taken from each, until fewer than P identities remain. The epoch length is data-dependent.
 */
import { counted } from '../../../core/index.js';
import { Rng, type RngState } from './rng.js';

export interface SamplerState {
  kind: 'identity' | 'shuffle';
  rng: RngState;
  epoch: number;
}

export interface BatchSampler {
  /** The batches (dataset indices) of the next epoch; advances the RNG and the epoch counter. */
  nextEpoch(): number[][];
  /** State *before* the next call of nextEpoch(): store it in checkpoints. */
  getState(): SamplerState;
  setState(s: SamplerState): void;
  /** Batches per epoch: exact for the shuffle sampler, RSB's __len__ upper bound for P×K. */
  readonly batchesPerEpoch: number;
}

export class RandomIdentitySampler implements BatchSampler {
  private readonly rng: Rng;
  private epoch = 0;
  /** label → dataset indices, labels in ascending order (RSB iterates its defaultdict in insertion order). */
  private readonly index: Map<number, number[]>;
  readonly batchesPerEpoch: number;

  constructor(
    labels: ArrayLike<number>,
    readonly p: number,
    readonly k: number,
    seed = 0,
  ) {
    if (!(p >= 1 && k >= 1)) throw new Error(`P×K sampler needs P ≥ 1 and K ≥ 1 (got P=${p}, K=${k})`);
    this.rng = new Rng(seed);
    const idx = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!idx.has(l)) idx.set(l, []);
      idx.get(l)!.push(i);
    }
    this.index = new Map([...idx].sort((a, b) => a[0] - b[0]));
    if (this.index.size < p)
      throw new Error(`the P×K sampler needs at least P = ${counted(p, 'identity', 'identities')} with images, but the training set has ${this.index.size}; lower batch.p`);
    // RSB __len__: Σ over identities of (max(n, K) − max(n, K) % K) images, i.e. groups·K; an upper bound
    // of the real (data-dependent) epoch, which ends when fewer than P identities have groups left.
    let groups = 0;
    for (const list of this.index.values()) groups += Math.floor(Math.max(list.length, k) / k);
    this.batchesPerEpoch = Math.floor(groups / p);
  }

  nextEpoch(): number[][] {
    const { rng, k, p } = this;
    const groups = new Map<number, number[][]>();
    for (const [pid, list] of this.index) {
      let idxs = list.slice();
      // np.random.choice(idxs, size=K, replace=True)
      if (idxs.length < k) idxs = Array.from({ length: k }, () => rng.pick(list));
      rng.shuffle(idxs);
      const g: number[][] = [];
      for (let s = 0; s + k <= idxs.length; s += k) g.push(idxs.slice(s, s + k));
      groups.set(pid, g);
    }
    const avail = [...this.index.keys()];
    const batches: number[][] = [];
    while (avail.length >= p) {
      // random.sample(avai_pids, P): P distinct identities.
      const chosen = sampleDistinct(rng, avail.length, p).map((i) => avail[i]!);
      const batch: number[] = [];
      for (const pid of chosen) {
        const g = groups.get(pid)!;
        batch.push(...g.shift()!);
        if (g.length === 0) avail.splice(avail.indexOf(pid), 1);
      }
      batches.push(batch);
    }
    this.epoch++;
    return batches;
  }

  getState(): SamplerState {
    return { kind: 'identity', rng: this.rng.getState(), epoch: this.epoch };
  }

  setState(s: SamplerState): void {
    if (s.kind !== 'identity') throw new Error(`sampler state is for a '${s.kind}' sampler, not the P×K identity sampler`);
    this.rng.setState(s.rng);
    this.epoch = s.epoch;
  }
}

/** Uniformly random P distinct positions out of n (partial Fisher–Yates). */
function sampleDistinct(rng: Rng, n: number, p: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < p; i++) {
    const j = i + rng.int(n - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, p);
}

/** RSB SAMPLER='softmax': a plain shuffle (DataLoader shuffle=True, the last batch may be short). */
export class ShuffleSampler implements BatchSampler {
  private readonly rng: Rng;
  private epoch = 0;
  readonly batchesPerEpoch: number;

  constructor(
    readonly size: number,
    readonly batchSize: number,
    seed = 0,
    readonly dropLast = false,
  ) {
    if (size < 1) throw new Error('the training set is empty');
    if (batchSize < 1) throw new Error('batch size must be at least 1');
    this.rng = new Rng(seed);
    this.batchesPerEpoch = dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
  }

  nextEpoch(): number[][] {
    const order = this.rng.shuffle(Array.from({ length: this.size }, (_, i) => i));
    const out: number[][] = [];
    for (let s = 0; s < order.length; s += this.batchSize) {
      const b = order.slice(s, s + this.batchSize);
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    this.epoch++;
    return out;
  }

  getState(): SamplerState {
    return { kind: 'shuffle', rng: this.rng.getState(), epoch: this.epoch };
  }

  setState(s: SamplerState): void {
    if (s.kind !== 'shuffle') throw new Error(`sampler state is for a '${s.kind}' sampler, not the shuffle sampler`);
    this.rng.setState(s.rng);
    this.epoch = s.epoch;
  }
}

/** Sampler for the settings: 'softmax' = shuffle, anything else = P×K (RSB make_data_loader). */
export function makeSampler(sampler: 'softmax' | 'triplet' | 'softmax_triplet', labels: ArrayLike<number>, p: number, k: number, seed: number): BatchSampler {
  return sampler === 'softmax' ? new ShuffleSampler(labels.length, p * k, seed) : new RandomIdentitySampler(labels, p, k, seed);
}
