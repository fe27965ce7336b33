import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTrainTransform, drawTrainParams, evalTransform, IMAGENET_MEAN, type AugmentOptions } from '../../main/training/data/augment.js';
import { DatasetError, loadDataset } from '../../main/training/data/datasets.js';
import { decodeResize } from '../../main/training/data/decode.js';
import { DEMO_MARKER, writeDemoDataset } from '../../main/training/data/demo.js';
import { openDataset } from '../../main/training/data/index.js';
import { DataLoaderPool } from '../../main/training/data/pipeline.js';
import { Rng } from '../../main/training/data/rng.js';
import { RandomIdentitySampler, ShuffleSampler } from '../../main/training/data/samplers.js';
import { runPython, testRandom } from './python.js';

let tmp: string;
let demo: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'reid-data-test-'));
  demo = join(tmp, 'demo');
  await writeDemoDataset(demo, 'tiny', 7);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function treeHash(dir: string): string {
  const h = createHash('sha256');
  for (const sub of readdirSync(dir).sort()) {
    const p = join(dir, sub);
    if (sub === DEMO_MARKER) continue;
    for (const f of readdirSync(p).sort()) h.update(f).update(readFileSync(join(p, f)));
  }
  return h.digest('hex');
}

describe('demo dataset', () => {
  it('is deterministic per seed, in Market-1501 layout, with a valid query/gallery split', async () => {
    const again = join(tmp, 'again');
    await writeDemoDataset(again, 'tiny', 7);
    expect(treeHash(again)).toBe(treeHash(demo));
    const other = join(tmp, 'other');
    await writeDemoDataset(other, 'tiny', 8);
    expect(treeHash(other)).not.toBe(treeHash(demo));
    // Rewriting a previous demo dataset is allowed; a foreign non-empty folder is refused.
    await writeDemoDataset(other, 'tiny', 7);
    expect(treeHash(other)).toBe(treeHash(demo));
    const foreign = join(tmp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'x');
    await expect(writeDemoDataset(foreign, 'tiny', 1)).rejects.toThrow(/not empty and is not a demo dataset/);
    // A previous demo dataset the user added a file to is not replaced (the file would be deleted with it).
    writeFileSync(join(other, 'my-notes.txt'), 'keep');
    await expect(writeDemoDataset(other, 'tiny', 8)).rejects.toThrow(/holds files the demo generator did not write \(my-notes\.txt\)/);
    expect(readFileSync(join(other, 'my-notes.txt'), 'utf8')).toBe('keep');
    rmSync(join(other, 'my-notes.txt'));
    expect(treeHash(other)).toBe(treeHash(demo)); // untouched: still the seed-7 dataset

    const d = await loadDataset('market1501', demo);
    expect(d.problems.unreadable).toEqual([]);
    expect(d.problems.junkDropped).toBeGreaterThan(0);
    expect(d.gallery.some((r) => r.pid === 0)).toBe(true);
    // Every query has a same-pid gallery image from another camera; train and test identities are disjoint.
    for (const q of d.query) expect(d.gallery.some((g) => g.pid === q.pid && g.camid !== q.camid)).toBe(true);
    const trainPids = new Set(d.train.map((r) => r.pid));
    expect(d.query.every((q) => !trainPids.has(q.pid))).toBe(true);
    expect(d.summary.train.identities).toBe(12);
    expect(d.summary.train.cameras).toBe(4);
    const total = d.summary.train.images + d.summary.query.images + d.summary.gallery.images;
    expect(total).toBeGreaterThan(100);
    const meta = await sharp(d.train[0]!.path).metadata();
    expect([meta.height, meta.width, meta.format]).toEqual([128, 64, 'jpeg']);
  });
});

describe('dataset readers', () => {
  it('Market-1501 parsing and relabelling match a port of RSB market1501._process_dir', async () => {
    const d = await loadDataset('market1501', demo);
    const splits = [['train', 'bounding_box_train', true], ['gallery', 'bounding_box_test', false], ['query', 'query', false]] as const;
    const refs = runPython<[string, number, number][][]>('ref_data.py', { op: 'parse', cases: splits.map(([, folder, relabel]) => ({ dir: join(demo, folder), relabel })) });
    for (const [si, [split, , relabel]] of splits.entries()) {
      const ref = refs[si]!;
      const ours = d[split].map((r) => [r.path, relabel ? r.label : r.pid, r.camid]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(ours).toEqual(ref.sort((a, b) => a[0].localeCompare(b[0])));
    }
    expect(d.classNames.map(Number)).toEqual([...new Set(d.train.map((r) => r.pid))].sort((a, b) => a - b));
  });

  it('accepts the usual nested folder names and explains a wrong layout', async () => {
    const nested = join(tmp, 'nestedroot');
    mkdirSync(nested);
    const again = join(tmp, 'again');
    renameSync(again, join(nested, 'Market-1501-v15.09.15'));
    const d = await loadDataset('market1501', nested, { verify: false });
    expect(d.root).toBe(join(nested, 'Market-1501-v15.09.15'));
    const bad = join(tmp, 'badlayout');
    mkdirSync(join(bad, 'query'), { recursive: true });
    await expect(loadDataset('market1501', bad)).rejects.toThrow(DatasetError);
    await expect(loadDataset('market1501', bad)).rejects.toThrow(/expected the folders bounding_box_train\/, bounding_box_test\//);
    await expect(loadDataset('dukemtmc', join(tmp, 'missing'))).rejects.toThrow(/dataset folder not found/);
  });

  it('DukeMTMC-reID names, unreadable images and identities below K', async () => {
    const root = join(tmp, 'duke', 'DukeMTMC-reID');
    const split = (s: string) => join(root, s);
    for (const s of ['bounding_box_train', 'query', 'bounding_box_test']) mkdirSync(split(s), { recursive: true });
    const jpg = await sharp({ create: { width: 20, height: 40, channels: 3, background: '#884422' } }).jpeg().toBuffer();
    const files: [string, string][] = [
      ['bounding_box_train', '0001_c2_f0046182.jpg'],
      ['bounding_box_train', '0001_c3_f0046300.jpg'],
      ['bounding_box_train', '0005_c1_f0000001.jpg'],
      ['query', '0007_c1_f0000002.jpg'],
      ['bounding_box_test', '0007_c8_f0000003.jpg'],
      ['bounding_box_test', 'readme.jpg'],
    ];
    for (const [s, f] of files) writeFileSync(join(split(s), f), jpg);
    writeFileSync(join(split('bounding_box_train'), '0005_c4_f0000009.jpg'), Buffer.from('not an image at all'));
    const d = await loadDataset('dukemtmc', join(tmp, 'duke'), { k: 4 });
    expect(d.train.map((r) => [r.pid, r.camid, r.label])).toEqual([[1, 1, 0], [1, 2, 0], [5, 0, 1]]);
    expect(d.gallery.map((r) => r.camid)).toEqual([7]);
    expect(d.problems.unreadable.map((u) => u.path)).toEqual([join(split('bounding_box_train'), '0005_c4_f0000009.jpg')]);
    expect(d.problems.unparsable).toEqual([join(split('bounding_box_test'), 'readme.jpg')]);
    expect(d.problems.identitiesBelowK).toEqual([{ pid: 1, images: 2 }, { pid: 5, images: 1 }]);
  });

  it('settings.dataset: the demo dataset is generated once into the cache folder, then reused', async () => {
    const cache = join(tmp, 'cache');
    const a = await openDataset({ kind: 'demo', demoSize: 'tiny' }, { demoCacheDir: cache });
    const marker = statSync(join(cache, 'demo-tiny', DEMO_MARKER)).mtimeMs;
    const b = await openDataset({ kind: 'demo', demoSize: 'tiny' }, { demoCacheDir: cache });
    expect(statSync(join(cache, 'demo-tiny', DEMO_MARKER)).mtimeMs).toBe(marker);
    expect(b.summary).toEqual(a.summary);
    await expect(openDataset({ kind: 'market1501', demoSize: 'tiny' }, { demoCacheDir: cache })).rejects.toThrow(/needs a path/);
  });

  it('class-per-folder layout', async () => {
    const root = join(tmp, 'classes');
    const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
    for (const [c, n] of [['zebra', 2], ['ant', 3]] as const) {
      mkdirSync(join(root, 'train', c), { recursive: true });
      mkdirSync(join(root, 'val', c), { recursive: true });
      for (let i = 0; i < n; i++) writeFileSync(join(root, 'train', c, `${i}.png`), jpg);
      writeFileSync(join(root, 'val', c, 'v.png'), jpg);
    }
    const d = await loadDataset('class_folders', root);
    expect(d.classNames).toEqual(['ant', 'zebra']);
    expect(d.train.map((r) => r.label)).toEqual([0, 0, 0, 1, 1]);
    expect(d.query.map((r) => r.label)).toEqual([0, 1]);
    await expect(loadDataset('class_folders', join(root, 'train', 'ant'))).rejects.toThrow(/no class sub-folders/);
  });
});

describe('samplers', () => {
  // Identity sizes: some below K (drawn with replacement), some with a remainder.
  const sizes = [1, 2, 4, 5, 7, 8, 9, 3, 12, 4, 6, 10];
  const labels = sizes.flatMap((n, l) => Array.from({ length: n }, () => l));

  it('RandomIdentitySampler follows RSB triplet_sampler semantics', () => {
    const P = 4, K = 4;
    const s = new RandomIdentitySampler(labels, P, K, 3);
    const before = s.getState();
    const epoch = s.nextEpoch();
    const used = new Map<number, number>();
    for (const b of epoch) {
      expect(b.length).toBe(P * K);
      const byLabel = new Map<number, number[]>();
      for (const i of b) byLabel.set(labels[i]!, [...(byLabel.get(labels[i]!) ?? []), i]);
      expect(byLabel.size).toBe(P);
      for (const [l, idx] of byLabel) {
        expect(idx.length).toBe(K);
        used.set(l, (used.get(l) ?? 0) + 1);
        // Identities with ≥ K images are shuffled without replacement: no repeats within a group.
        if (sizes[l]! >= K) expect(new Set(idx).size).toBe(K);
      }
    }
    // Groups per identity = floor(max(n, K) / K); the epoch stops once fewer than P identities have groups left.
    const groups = sizes.map((n) => Math.floor(Math.max(n, K) / K));
    const left = groups.filter((g, l) => g - (used.get(l) ?? 0) > 0).length;
    expect(left).toBeLessThan(P);
    groups.forEach((g, l) => expect(used.get(l) ?? 0).toBeLessThanOrEqual(g));
    expect(epoch.length).toBeLessThanOrEqual(s.batchesPerEpoch);
    // Serialisable state: restoring replays the same epoch; a fresh sampler with the same seed too.
    const replay = new RandomIdentitySampler(labels, P, K, 99);
    replay.setState(JSON.parse(JSON.stringify(before)));
    expect(replay.nextEpoch()).toEqual(epoch);
    expect(new RandomIdentitySampler(labels, P, K, 3).nextEpoch()).toEqual(epoch);
    expect(s.nextEpoch()).not.toEqual(epoch);
    expect(() => new RandomIdentitySampler([0, 0, 1], 4, 2)).toThrow(/at least P = 4 identities/);
  });

  it('ShuffleSampler is a seeded permutation in batches', () => {
    const s = new ShuffleSampler(labels.length, 16, 5);
    const e = s.nextEpoch();
    expect(e.length).toBe(Math.ceil(labels.length / 16));
    expect(e.flat().sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
    expect(() => s.setState({ kind: 'identity', rng: [1, 2, 3, 4], epoch: 0 })).toThrow(/not the shuffle sampler/);
  });
});

describe('augmentation vs torchvision', () => {
  const H = 24, W = 12;
  const r = testRandom(3);
  const rgb = Uint8Array.from({ length: H * W * 3 }, () => Math.floor(r() * 256));
  const opt: AugmentOptions = { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 };

  it('train transform (flip, pad 10 + crop, normalise, random erasing with PIXEL_MEAN) matches torchvision ops', () => {
    const rng = new Rng(1);
    let flips = 0, erases = 0;
    const cases = [];
    const outs: Float32Array[] = [];
    for (let t = 0; t < 6; t++) {
      const params = drawTrainParams(rng, H, W, opt);
      // Force both branches to be exercised across the draws.
      if (t === 0) params.flip = true;
      if (t === 1) params.erase = { y: 3, x: 2, h: 9, w: 5 };
      flips += +params.flip;
      erases += +(params.erase !== null);
      const out = new Float32Array(H * W * 3);
      applyTrainTransform(rgb, H, W, params, out, 0);
      outs.push(out);
      cases.push({ height: H, width: W, rgb: Array.from(rgb), params });
    }
    const refs = runPython<number[][]>('ref_data.py', { op: 'transform', cases });
    outs.forEach((out, t) => {
      let m = 0;
      for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i]! - refs[t]![i]!));
      expect(m).toBeLessThan(1e-5);
    });
    expect(flips).toBeGreaterThan(0);
    expect(erases).toBeGreaterThan(0);
  });

  it('random-erasing draws respect RSB bounds and the erase value is PIXEL_MEAN', () => {
    const rng = new Rng(2);
    let n = 0;
    for (let t = 0; t < 2000; t++) {
      const p = drawTrainParams(rng, 256, 128, opt);
      expect(p.top).toBeGreaterThanOrEqual(0);
      expect(p.top).toBeLessThanOrEqual(20);
      expect(p.eraseValue).toEqual(IMAGENET_MEAN);
      if (!p.erase) continue;
      n++;
      const { y, x, h, w } = p.erase;
      expect(h).toBeLessThan(256);
      expect(w).toBeLessThan(128);
      expect(y + h).toBeLessThanOrEqual(256);
      expect(x + w).toBeLessThanOrEqual(128);
      // area = round(√(a·r))·round(√(a/r)) with a ∈ [0.02, 0.4]·H·W (rounding widens the range slightly)
      expect(h * w).toBeGreaterThan(0.01 * 256 * 128);
      expect(h * w).toBeLessThan(0.45 * 256 * 128);
    }
    expect(n / 2000).toBeGreaterThan(0.45);
    expect(n / 2000).toBeLessThan(0.55);
  });

  it('eval transform matches ToTensor + Normalize', () => {
    const out = new Float32Array(H * W * 3);
    evalTransform(rgb, H, W, out, 0);
    const [ref] = runPython<number[][]>('ref_data.py', { op: 'transform', cases: [{ height: H, width: W, rgb: Array.from(rgb), params: null }] });
    let m = 0;
    for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i]! - ref![i]!));
    expect(m).toBeLessThan(1e-5);
  });
});

describe('worker pipeline', () => {
  it('decodes P×K batches off-thread, deterministically, and replaces unreadable images', async () => {
    const d = await loadDataset('market1501', demo);
    const records = d.train.map((r) => ({ path: r.path, label: r.label }));
    const sampler = new RandomIdentitySampler(records.map((r) => r.label), 3, 4, 1);
    const batches = sampler.nextEpoch();
    // Truncate one sampled JPEG after loading: it passes the header check and fails at first decode.
    const victim = batches[0]![0]!;
    const buf = readFileSync(records[victim]!.path);
    writeFileSync(records[victim]!.path, buf.subarray(0, Math.floor(buf.length / 2)));
    const aug = { flipProb: 0.5, padding: 10, randomErasingProb: 0.5 };
    const H = 64, W = 32;
    const bad: string[] = [];
    const run = async (workers: number) => {
      const pool = new DataLoaderPool({ height: H, width: W, workers, prefetch: 3, onBadImage: (b) => bad.push(b.path) });
      const out = [];
      try {
        for await (const b of pool.trainBatches(records, batches, aug, { seed: 11, epoch: 0 })) out.push(b);
      } finally {
        await pool.close();
      }
      return out;
    };
    const a = await run(2);
    const b = await run(1);
    expect(a.length).toBe(batches.length);
    a.forEach((batch, i) => {
      expect(batch.index).toBe(i);
      expect(batch.images.length).toBe(12 * H * W * 3);
      expect(Array.from(batch.labels)).toEqual(batches[i]!.map((j) => records[j]!.label));
      expect(Buffer.from(batch.images.buffer).equals(Buffer.from(b[i]!.images.buffer))).toBe(true);
      expect(Array.from(batch.indices)).not.toContain(victim);
    });
    expect(bad).toContain(records[victim]!.path);
    expect(a[0]!.labels[0]).toBe(records[victim]!.label);
    // Eval loader: normalise only, same pixels as an in-thread decode.
    const pool = new DataLoaderPool({ height: H, width: W, workers: 2 });
    try {
      const evalRecs = d.query.slice(0, 5).map((r) => ({ path: r.path, label: r.pid }));
      const got = [];
      for await (const e of pool.evalBatches(evalRecs, 2)) got.push(e);
      expect(got.map((e) => e.size)).toEqual([2, 2, 1]);
      const want = new Float32Array(H * W * 3);
      evalTransform(await decodeResize(evalRecs[4]!.path, H, W), H, W, want, 0);
      expect(Buffer.from(got[2]!.images.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      const broken = [{ path: records[victim]!.path, label: 0 }];
      for await (const e of pool.evalBatches(broken, 4)) expect(e.failed).toEqual([0]);
    } finally {
      await pool.close();
    }
  });
});
