/**
 * Image pipeline off the training thread: a small pool of worker threads decodes (sharp), resizes (PIL's
 * resize, main/image/resample.ts), augments and normalises batches ahead of the trainer (prefetch), producing float32 NHWC buffers.
 * Unreadable images are skipped, counted and reported; in training batches they are replaced by another
 * image of the same identity so the P×K structure stays intact.
 */
import type { ImagePreprocess } from '../../image/decode.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RSB_PREPROCESS, type PreprocessSettings } from '../../../core/format/preprocess.js';
import type { AugmentOptions } from './augment.js';
import type { DecodeJob, DecodeResult } from './worker.js';
import { workerEntry } from './worker-url.js';
import { DatasetError } from './layouts.js';

export interface SampleRecord {
  path: string;
  label: number;
}

export interface Batch {
  /** Position of the batch in the epoch. */
  index: number;
  /** size × height × width × 3, normalised with the pool's pixel mean / std. */
  images: Float32Array;
  labels: Int32Array;
  /** Dataset indices actually used (after replacing unreadable images). */
  indices: Int32Array;
  size: number;
  height: number;
  width: number;
  /** Eval batches: positions whose image could not be decoded (left zero; drop them from the evaluation). */
  failed: number[];
}

export interface PoolOptions {
  height: number;
  width: number;
  /** Resize filter and pixel mean / std (the document's `preprocessOf`); default reid-strong-baseline's. */
  preprocess?: ImagePreprocess;
  /** Worker threads (default: min(2, cores)). */
  workers?: number;
  /** Batches decoded ahead of the consumer (default 2 per worker). */
  prefetch?: number;
  /** Called once per unreadable image. */
  onBadImage?: (bad: { path: string; reason: string }) => void;
}

/** Per-image augmentation seed from (run seed, epoch, batch, position): independent of worker scheduling. */
export function imageSeed(seed: number, epoch: number, batch: number, pos: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [epoch, batch, pos]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

interface WorkerSlot {
  worker: Worker;
  pending: number;
}

export class DataLoaderPool {
  readonly height: number;
  readonly width: number;
  readonly prefetch: number;
  /** Every image found unreadable so far. */
  readonly badImages: { path: string; reason: string }[] = [];
  private readonly bad = new Set<string>();
  private readonly slots: WorkerSlot[] = [];
  private readonly waiting = new Map<number, { resolve: (r: DecodeResult) => void; reject: (e: Error) => void; slot: WorkerSlot }>();
  private nextJob = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    if (!(opts.height >= 8 && opts.width >= 8)) throw new Error(`input size ${opts.height}×${opts.width} is too small`);
    this.height = opts.height;
    this.width = opts.width;
    const n = Math.max(1, opts.workers ?? Math.min(2, availableParallelism()));
    this.prefetch = Math.max(1, opts.prefetch ?? 2 * n);
    const { url, execArgv } = workerEntry('data-worker', new URL('./worker.ts', import.meta.url));
    for (let i = 0; i < n; i++) {
      const worker = new Worker(url, { execArgv });
      const slot = { worker, pending: 0 };
      worker.on('message', (r: DecodeResult) => {
        const w = this.waiting.get(r.id);
        if (!w) return;
        this.waiting.delete(r.id);
        w.slot.pending--;
        w.resolve(r);
      });
      const fail = (e: Error): void => {
        this.failure ??= new Error(`data worker failed: ${e.message}`);
        for (const [id, w] of this.waiting) if (w.slot === slot) {
          this.waiting.delete(id);
          w.reject(this.failure);
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  private run(paths: string[], seeds: number[], augment: AugmentOptions | null): Promise<DecodeResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('data loader pool is closed'));
    const slot = this.slots.reduce((a, b) => (b.pending < a.pending ? b : a));
    const id = this.nextJob++;
    const job: DecodeJob = { id, paths, seeds, height: this.height, width: this.width, augment, preprocess: this.opts.preprocess ?? RSB_PREPROCESS };
    slot.pending++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage(job);
    });
  }

  private markBad(path: string, reason: string): void {
    if (this.bad.has(path)) return;
    this.bad.add(path);
    const b = { path, reason };
    this.badImages.push(b);
    this.opts.onBadImage?.(b);
  }

  /** Decodes one training batch, replacing unreadable images by other images of the same identity. */
  private async trainBatch(records: readonly SampleRecord[], byLabel: Map<number, number[]>, idx: number[], augment: AugmentOptions, seed: number, epoch: number, b: number): Promise<Batch> {
    const per = this.height * this.width * 3;
    const indices = Int32Array.from(idx);
    const seeds = idx.map((_, pos) => imageSeed(seed, epoch, b, pos));
    const r = await this.run(idx.map((i) => records[i]!.path), seeds, augment);
    const images = r.data;
    let failed = r.failed;
    while (failed.length) {
      const fix: number[] = [];
      for (const f of failed) {
        const orig = indices[f.pos]!;
        this.markBad(records[orig]!.path, f.reason);
        const label = records[orig]!.label;
        const pool = byLabel.get(label)!;
        const start = pool.indexOf(orig);
        let sub = -1;
        for (let t = 1; t <= pool.length; t++) {
          const cand = pool[(start + t) % pool.length]!;
          if (!this.bad.has(records[cand]!.path)) {
            sub = cand;
            break;
          }
        }
        if (sub < 0) throw new DatasetError(`all ${pool.length} training images of identity label ${label} are unreadable (e.g. ${records[orig]!.path}: ${f.reason})`);
        indices[f.pos] = sub;
        fix.push(f.pos);
      }
      const rr = await this.run(fix.map((p) => records[indices[p]!]!.path), fix.map((p) => seeds[p]!), augment);
      fix.forEach((p, k) => images.set(rr.data.subarray(k * per, (k + 1) * per), p * per));
      failed = rr.failed.map((f) => ({ pos: fix[f.pos]!, reason: f.reason }));
    }
    const labels = Int32Array.from(indices, (i) => records[i]!.label);
    return { index: b, images, labels, indices, size: idx.length, height: this.height, width: this.width, failed: [] };
  }

  /**
   * Training batches for one epoch, decoded `prefetch` batches ahead. `startBatch` resumes mid-epoch with
   * the same augmentations an uninterrupted run would have drawn.
   */
  async *trainBatches(records: readonly SampleRecord[], batches: number[][], augment: AugmentOptions, opts: { seed: number; epoch: number; startBatch?: number }): AsyncGenerator<Batch> {
    const byLabel = new Map<number, number[]>();
    records.forEach((r, i) => {
      if (!byLabel.has(r.label)) byLabel.set(r.label, []);
      byLabel.get(r.label)!.push(i);
    });
    yield* this.ahead(batches.length, opts.startBatch ?? 0, (b) => this.trainBatch(records, byLabel, batches[b]!, augment, opts.seed, opts.epoch, b));
  }

  /** Evaluation batches in dataset order, no augmentation. */
  async *evalBatches(records: readonly SampleRecord[], batchSize: number): AsyncGenerator<Batch> {
    const n = Math.ceil(records.length / batchSize);
    yield* this.ahead(n, 0, async (b) => {
      const idx = Array.from({ length: Math.min(batchSize, records.length - b * batchSize) }, (_, k) => b * batchSize + k);
      const r = await this.run(
        idx.map((i) => records[i]!.path),
        [],
        null,
      );
      for (const f of r.failed) this.markBad(records[idx[f.pos]!]!.path, f.reason);
      return {
        index: b,
        images: r.data,
        labels: Int32Array.from(idx, (i) => records[i]!.label),
        indices: Int32Array.from(idx),
        size: idx.length,
        height: this.height,
        width: this.width,
        failed: r.failed.map((f) => f.pos),
      };
    });
  }

  private async *ahead(n: number, start: number, make: (b: number) => Promise<Batch>): AsyncGenerator<Batch> {
    const queue: Promise<Batch>[] = [];
    let next = start;
    const fill = (): void => {
      while (queue.length < this.prefetch && next < n) {
        const p = make(next++);
        p.catch(() => undefined); // surfaced when awaited in order
        queue.push(p);
      }
    };
    fill();
    while (queue.length) {
      const b = await queue.shift()!;
      fill();
      yield b;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Batches still in flight can no longer complete: reject them instead of leaving them pending.
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(new Error('data loader pool was closed'));
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
