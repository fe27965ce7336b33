import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, serializeDocument, weightSpecs, type Layer, type PresetOptions } from '../../core/index.js';
import { CheckpointError, exportStateDict, parseCheckpoint, planLoad, readCheckpoint, writeCheckpoint, type Checkpoint, type LoadReport } from '../../main/weights/index.js';

/**
 * Checkpoints are written by real PyTorch (Debian's torch 1.13 / torchvision 0.14, make_checkpoints.py);
 * PyTorch also dumps what it reads back as float32, and the JS reader must reproduce every tensor bit for
 * bit. Report counts are derived from torchvision's models (torchvision resnet50 has 320 state-dict
 * entries, 53 BN layers; resnet50_ibn_a 346, 13 IBN modules), not captured from the code.
 */

const PYTHON = '/usr/bin/python3';
const here = (f: string) => fileURLToPath(new URL(`./${f}`, import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
let dir = '';
const p = (f: string) => join(dir, f);

interface Ref {
  keys: string[];
  meta: Record<string, { shape: number[]; dtype: string; offset: number }>;
  bin: Buffer;
}
const readRef = (name: string): Ref => {
  const meta = JSON.parse(readFileSync(p(`${name}.ref.json`), 'utf8')) as Ref['meta'];
  return { keys: Object.keys(meta), meta, bin: readFileSync(p(`${name}.ref.bin`)) };
};
const refValues = (r: Ref, key: string): Float32Array => {
  const m = r.meta[key]!;
  const n = m.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(r.bin.buffer.slice(r.bin.byteOffset + m.offset, r.bin.byteOffset + m.offset + 4 * n));
};
/** Bitwise equality (also distinguishes -0 and +0). */
/** Park–Miller LCG: deterministic damage positions, independent of the code under test. */
const lcg = (seed: number) => () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

function expectMatchesTorch(c: Checkpoint, refName: string): void {
  const r = readRef(refName);
  expect([...c.tensors.keys()]).toEqual(r.keys);
  const wrong: string[] = [];
  for (const k of r.keys) {
    const t = c.tensors.get(k)!;
    const m = r.meta[k]!;
    if (JSON.stringify(t.shape) !== JSON.stringify(m.shape) || t.dtype !== m.dtype || !sameBits(t.data, refValues(r, k))) wrong.push(k);
  }
  expect(wrong).toEqual([]);
}

const layersOf = (preset: string, o: Partial<PresetOptions> = {}): Layer[] => {
  const a = analyze(buildPreset(preset, o).graph);
  expect(a.ok).toBe(true);
  return a.layers;
};
const countReasons = (r: LoadReport) => {
  const m: Record<string, number> = {};
  for (const s of r.skipped) {
    const tag = s.reason.startsWith('num_batches_tracked')
      ? 'nbt'
      : s.reason.startsWith('ImageNet classifier (fc)')
        ? 'fc'
        : s.reason.startsWith('classifier')
          ? 'classifier'
          : s.reason.startsWith('IBN-a IN half')
            ? 'in_half'
            : s.reason;
    m[tag] = (m[tag] ?? 0) + 1;
  }
  return m;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-weights-'));
  execFileSync(PYTHON, [here('make_checkpoints.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('readCheckpoint reproduces what torch.load reads', () => {
  it('torchvision resnet50 state_dict (zip format): 320 entries, bit-exact', async () => {
    const c = await readCheckpoint(p('resnet50.pth'));
    expect(c.format).toBe('pytorch-zip');
    expect(c.wrapper).toBe('');
    expect(c.tensors.size).toBe(320);
    expect(c.tensors.get('layer1.0.bn1.num_batches_tracked')).toMatchObject({ dtype: 'int64', shape: [] });
    expect(c.tensors.get('layer1.0.bn1.num_batches_tracked')!.data[0]).toBe(1234);
    expectMatchesTorch(c, 'resnet50');
  });

  it('resnet50_ibn_a (IBN-Net release layout): 346 entries', async () => {
    const c = await readCheckpoint(p('resnet50_ibn_a.pth'));
    expect(c.tensors.size).toBe(346);
    expect(c.tensors.get('layer1.0.bn1.IN.weight')!.shape).toEqual([32]);
    expect(c.tensors.get('layer3.5.bn1.BN.running_var')!.shape).toEqual([128]);
    expectMatchesTorch(c, 'resnet50_ibn_a');
  });

  it("{'state_dict': {module.*}} wrapper with an optimizer state beside it", async () => {
    const c = await readCheckpoint(p('resnet18_ibn_a.pth.tar'));
    expect(c.wrapper).toBe('state_dict');
    expect([...c.tensors.keys()].every((k) => k.startsWith('module.'))).toBe(true);
    expectMatchesTorch(c, 'resnet18_ibn_a');
  });

  it("fast-reid {'model': …} checkpoint", async () => {
    const c = await readCheckpoint(p('fastreid_r18.pth'));
    expect(c.wrapper).toBe('model');
    expect(c.tensors.get('heads.weight')!.shape).toEqual([751, 512]);
    expectMatchesTorch(c, 'fastreid_r18');
  });

  it('views: transposed, sliced with offsets, shared storages, channels_last, stride 0, fp16/bf16/fp64/int dtypes', async () => {
    const c = await readCheckpoint(p('views.pth'));
    expectMatchesTorch(c, 'views');
    expect(Array.from(c.tensors.get('half_special')!.data)).toEqual([0, -0, 6.097555160522461e-5, 5.960464477539063e-8, 65504, Infinity, -Infinity]);
  });

  it('pickle protocol 4 and a deflated re-zip of the same file', async () => {
    expectMatchesTorch(await readCheckpoint(p('views_p4.pth')), 'views');
    expectMatchesTorch(await readCheckpoint(p('views_deflated.pth')), 'views');
  });

  it('legacy (pre-1.6, non-zip) format: views and a resnet18 state_dict', async () => {
    const v = await readCheckpoint(p('views_legacy.pth'));
    expect(v.format).toBe('pytorch-legacy');
    expectMatchesTorch(v, 'views');
    const r = await readCheckpoint(p('resnet18_legacy.pth'));
    expect(r.tensors.size).toBe(122); // torchvision resnet18: 20 convs, 20 BNs (5 entries each), fc
    expectMatchesTorch(r, 'resnet18_legacy');
  });

  it('safetensors (F32, F16, F64)', async () => {
    const c = await readCheckpoint(p('resnet18.safetensors'));
    expect(c.format).toBe('safetensors');
    expectMatchesTorch(c, 'resnet18_safetensors');
  });
});

describe('planLoad maps state dicts onto the graph', () => {
  let r50: Checkpoint;
  let ibn50: Checkpoint;
  beforeAll(async () => {
    r50 = await readCheckpoint(p('resnet50.pth'));
    ibn50 = await readCheckpoint(p('resnet50_ibn_a.pth'));
  });

  it('torchvision resnet50 → resnet50 preset: 265 loaded, fc and 53 num_batches_tracked skipped, neck + classifier initialised', () => {
    const layers = layersOf('resnet50');
    const { values, report } = planLoad(layers, r50);
    expect(report.layout).toBe('imagenet-backbone');
    // 53 convs + 53 BN × 4 = 265 backbone slots; + bottleneck BN (4) + classifier (1) = 270.
    expect(report.counts).toEqual({ loaded: 265, renamed: 265, skipped: 55, missing: 5, mismatched: 0, slots: 270, tensors: 320 });
    expect(countReasons(report)).toEqual({ nbt: 53, fc: 2 });
    expect(report.missing.map((m) => m.key).sort()).toEqual(['bottleneck.bias', 'bottleneck.running_mean', 'bottleneck.running_var', 'bottleneck.weight', 'classifier.weight']);
    expect(report.renamed[0]).toEqual({ from: 'conv1.weight', to: 'base.conv1.weight' });
    expect(values.size).toBe(265);
    // Conv kernels arrive in HWIO: compare with torch's own permute(2, 3, 1, 0).
    const hwio = readRef('resnet50_hwio');
    for (const k of hwio.keys) {
      const layer = `base.${k.slice(0, -'.weight'.length)}`;
      expect(sameBits(values.get(`${layer}/kernel`)!, refValues(hwio, k))).toBe(true);
    }
    // BN: weight → gamma, running_var → moving_variance (random stats in the file, so a swap would show).
    const ref = readRef('resnet50');
    expect(sameBits(values.get('base.layer3.4.bn2/gamma')!, refValues(ref, 'layer3.4.bn2.weight'))).toBe(true);
    expect(sameBits(values.get('base.layer3.4.bn2/moving_variance')!, refValues(ref, 'layer3.4.bn2.running_var'))).toBe(true);
    expect(sameBits(values.get('base.layer2.0.downsample.1/beta')!, refValues(ref, 'layer2.0.downsample.1.bias'))).toBe(true);
  });

  it('torchvision resnet50 → resnet50_ibn_a: IN halves missing (26), plain bn1 reported as mismatch for the BN halves (52)', () => {
    const { values, report } = planLoad(layersOf('resnet50_ibn_a'), r50);
    // 296 slots = 270 + 13 IBN × 2 IN slots. The 13 plain bn1 layers (4 tensors each) cannot fill the [C/2] BN halves.
    expect(report.counts).toEqual({ loaded: 213, renamed: 213, skipped: 55, missing: 31, mismatched: 52, slots: 296, tensors: 320 });
    const inMissing = report.missing.filter((m) => /\.bn1\.IN\.(weight|bias)$/.test(m.key));
    expect(inMissing).toHaveLength(26);
    expect(report.mismatched[0]).toEqual({
      key: 'base.layer1.0.bn1.BN.weight',
      source: 'layer1.0.bn1.weight',
      layer: 'base.layer1.0.bn1',
      slot: 'bn_gamma',
      expected: [32],
      got: [64],
    });
    expect(report.mismatched.every((m) => /^base\.layer[123]\.\d+\.bn1\.BN\./.test(m.key))).toBe(true);
    expect(values.has('base.layer1.0.bn1/bn_gamma')).toBe(false);
    expect(values.has('base.layer4.0.bn1/gamma')).toBe(true); // layer4 has no IBN
  });

  it('resnet50_ibn_a file → resnet50_ibn_a preset loads every backbone slot, IN and BN halves in place', () => {
    const { values, report } = planLoad(layersOf('resnet50_ibn_a'), ibn50);
    expect(report.counts).toEqual({ loaded: 291, renamed: 291, skipped: 55, missing: 5, mismatched: 0, slots: 296, tensors: 346 });
    const ref = readRef('resnet50_ibn_a');
    expect(sameBits(values.get('base.layer2.3.bn1/in_gamma')!, refValues(ref, 'layer2.3.bn1.IN.weight'))).toBe(true);
    expect(sameBits(values.get('base.layer2.3.bn1/bn_moving_mean')!, refValues(ref, 'layer2.3.bn1.BN.running_mean'))).toBe(true);
  });

  it('resnet50_ibn_a file → plain resnet50: IN halves skipped, BN halves reported against the plain bn1', () => {
    const { report } = planLoad(layersOf('resnet50'), ibn50);
    expect(report.counts).toEqual({ loaded: 213, renamed: 213, skipped: 81, missing: 5, mismatched: 52, slots: 270, tensors: 346 });
    expect(countReasons(report)).toEqual({ nbt: 53, fc: 2, in_half: 26 });
    expect(report.mismatched[0]).toMatchObject({ key: 'base.layer1.0.bn1.weight', source: 'layer1.0.bn1.BN.weight', expected: [64], got: [32] });
  });

  it("IBN-2019 .pth.tar ({'state_dict'}, module. prefix) → resnet18_ibn_a", async () => {
    const c = await readCheckpoint(p('resnet18_ibn_a.pth.tar'));
    const { values, report } = planLoad(layersOf('resnet18_ibn_a'), c);
    // resnet18: 20 convs, 20 BN (122 entries); 6 IBN modules add 12 IN entries → 134.
    // Slots: 20 + 20 × 4 + 6 × 2 = 112 backbone, + 5 neck/classifier.
    expect(report.wrapper).toBe('state_dict');
    expect(report.counts).toEqual({ loaded: 112, renamed: 112, skipped: 22, missing: 5, mismatched: 0, slots: 117, tensors: 134 });
    expect(report.renamed).toContainEqual({ from: 'module.layer1.0.bn1.IN.weight', to: 'base.layer1.0.bn1.IN.weight' });
    const ref = readRef('resnet18_ibn_a');
    expect(sameBits(values.get('base.layer3.1.bn1/in_beta')!, refValues(ref, 'module.layer3.1.bn1.IN.bias'))).toBe(true);
  });

  it('fast-reid checkpoint: backbone./heads. renamed, classifier skipped unless kept with a matching class count', async () => {
    const c = await readCheckpoint(p('fastreid_r18.pth'));
    const layers = layersOf('resnet18');
    const plain = planLoad(layers, c).report;
    expect(plain.layout).toBe('fast-reid');
    // 20 convs + 20 BN × 4 + BNNeck 4 = 104; skipped: 21 num_batches_tracked + heads.weight.
    expect(plain.counts).toEqual({ loaded: 104, renamed: 104, skipped: 22, missing: 1, mismatched: 0, slots: 105, tensors: 126 });
    expect(plain.renamed).toContainEqual({ from: 'heads.bottleneck.0.running_mean', to: 'bottleneck.running_mean' });
    expect(plain.missing).toEqual([{ key: 'classifier.weight', layer: 'classifier', slot: 'kernel', init: 'normal_0.001' }]);

    const kept = planLoad(layers, c, { keepClassifier: true });
    expect(kept.report.counts).toMatchObject({ loaded: 105, missing: 0, skipped: 21 });
    // Linear [out, in] → dense kernel [in, out]: compare with torch's .t().
    expect(sameBits(kept.values.get('classifier/kernel')!, refValues(readRef('fastreid_r18_t'), 'heads.weight'))).toBe(true);

    const duke = planLoad(layersOf('resnet18', { numClasses: 702 }), c, { keepClassifier: true }).report;
    expect(duke.counts).toMatchObject({ loaded: 104, missing: 1 });
    expect(duke.skipped.find((s) => s.key === 'heads.weight')!.reason).toMatch(/751 classes in the file but 702 in the graph/);
  });

  it('RSB Baseline layout, PyTorch-0.3 IN running stats and unknown keys never throw', () => {
    const t = (shape: number[]) => ({ dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const ckpt: Checkpoint = {
      format: 'test',
      tensors: new Map([
        ['base.conv1.weight', t([64, 3, 7, 7])],
        ['base.layer1.0.bn1.IN.weight', t([32])],
        ['base.layer1.0.bn1.IN.running_mean', t([32])],
        ['base.layer1.0.conv1.weight', t([64, 64, 3, 3])],
        ['base.NL_2.0.g.weight', t([1])],
        ['bottleneck.weight', t([2048])],
        ['classifier.weight', t([751, 2048])],
      ]),
    };
    const { report } = planLoad(layersOf('resnet50_ibn_a'), ckpt, { keepClassifier: true });
    expect(report.layout).toBe('reid-strong-baseline');
    expect(report.loaded.map((l) => l.key)).toEqual(['base.conv1.weight', 'base.layer1.0.bn1.IN.weight', 'bottleneck.weight', 'classifier.weight']);
    expect(report.renamed).toEqual([]);
    expect(report.mismatched).toEqual([
      { key: 'base.layer1.0.conv1.weight', source: 'base.layer1.0.conv1.weight', layer: 'base.layer1.0.conv1', slot: 'kernel', expected: [64, 64, 1, 1], got: [64, 64, 3, 3] },
    ]);
    expect(report.skipped.map((s) => s.key)).toEqual(['base.layer1.0.bn1.IN.running_mean', 'base.NL_2.0.g.weight']);
    expect(report.skipped[0]!.reason).toMatch(/InstanceNorm running statistics/);
    expect(report.skipped[1]!.reason).toMatch(/no layer base\.NL_2\.0\.g/);
    expect(report.counts.loaded + report.counts.mismatched + report.counts.missing).toBe(report.counts.slots);
  });
});

describe('writeCheckpoint / exportStateDict', () => {
  it('exported resnet50 Baseline loads in PyTorch (strict) with identical values; safetensors too', async () => {
    const layers = layersOf('resnet50');
    const { values, report } = planLoad(layers, await readCheckpoint(p('resnet50.pth')));
    // Fill the slots the file lacks (neck, classifier) with known values, in tfjs layout.
    for (const m of report.missing) {
      const layer = layers.find((l) => l.name === m.layer)!;
      const n = m.key === 'classifier.weight' ? 2048 * 751 : 2048;
      values.set(`${layer.name}/${m.slot}`, Float32Array.from({ length: n }, (_, i) => Math.sin(i + m.key.length) * 0.01));
    }
    const sd = exportStateDict(layers, values);
    expect(sd.size).toBe(270);
    const out = mkdtempSync(join(dir, 'export-'));
    await writeCheckpoint(join(out, 'model.pth'), sd);
    await writeCheckpoint(join(out, 'model.safetensors'), sd);
    expect(readdirSync(out).sort()).toEqual(['model.pth', 'model.safetensors']); // no temp files left behind
    const reply = JSON.parse(
      execFileSync(PYTHON, [here('check_export.py')], {
        input: JSON.stringify({ pth: join(out, 'model.pth'), safetensors: join(out, 'model.safetensors'), original: p('resnet50.pth'), out: dir }),
        encoding: 'utf8',
      }),
    ) as { strict_ok: boolean; keys: number; base_max_diff: number; safetensors_equal: boolean; aligned: boolean };
    expect(reply).toEqual({ strict_ok: true, keys: 270, base_max_diff: 0, safetensors_equal: true, aligned: true });
    // What PyTorch holds after load_state_dict is exactly what was exported (neck and classifier included).
    const ref = readRef('exported');
    expect(ref.keys).toHaveLength(270);
    for (const k of ['classifier.weight', 'bottleneck.running_var', 'base.conv1.weight']) expect(sameBits(sd.get(k)!.data, refValues(ref, k))).toBe(true);
    // And the JS reader reads its own files back to the same numbers.
    const back = await readCheckpoint(join(out, 'model.safetensors'));
    expect(sameBits(back.tensors.get('classifier.weight')!.data, sd.get('classifier.weight')!.data)).toBe(true);
  });

  it('an exported file re-imports into the graph with every slot loaded, classifier kept', async () => {
    const layers = layersOf('resnet18_ibn_a', { neck: 'no' });
    const values = new Map<string, Float32Array>();
    const rnd = lcg(1);
    for (const l of layers)
      for (const s of weightSpecs(l))
        values.set(`${l.name}/${s.slot}`, Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, rnd));
    const f = join(dir, 'roundtrip.pth');
    await writeCheckpoint(f, exportStateDict(layers, values));
    const { values: again, report } = planLoad(layers, await readCheckpoint(f), { keepClassifier: true });
    expect(report.counts).toMatchObject({ loaded: report.counts.slots, missing: 0, skipped: 0, mismatched: 0 });
    expect(report.loaded.some((l) => l.key === 'classifier.bias')).toBe(true);
    for (const [k, v] of values) expect(sameBits(again.get(k)!, v), k).toBe(true);
  });

  it('overwrites atomically and refuses inconsistent shapes', async () => {
    const f = join(dir, 'small.pth');
    await writeCheckpoint(f, new Map([['a', { shape: [2], data: Float32Array.from([1, 2]) }]]));
    await writeCheckpoint(f, new Map([['b', { shape: [1, 3], data: Float32Array.from([3, 4, 5]) }]]));
    expect([...(await readCheckpoint(f)).tensors.keys()]).toEqual(['b']);
    await expect(writeCheckpoint(f, new Map([['c', { shape: [2, 2], data: new Float32Array(3) }]]))).rejects.toThrow(/shape \[2, 2\] but 3 values/);
    expect([...(await readCheckpoint(f)).tensors.keys()]).toEqual(['b']);
  });
});

describe('malformed input gives one clear CheckpointError', () => {
  const cases: [string, RegExp][] = [
    ['truncated_zip.pth', /truncated or damaged zip checkpoint/],
    ['truncated_legacy.pth', /truncated checkpoint/],
    ['not_torch.zip', /zip file without data\.pkl/],
    ['text.pth', /not a PyTorch \(\.pth\) or safetensors checkpoint/],
    ['empty.pth', /empty file/],
    ['list.pth', /holds a list, not a state_dict/],
    ['no_tensors.pth', /no tensors found in the checkpoint \(top-level keys: epoch, lr\)/],
    ['does-not-exist.pth', /no such file/],
  ];
  for (const [file, msg] of cases)
    it(file, async () => {
      const e = await readCheckpoint(p(file)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toMatch(msg);
      expect((e as Error).message).not.toContain('\n');
    });

  it('damaged bytes anywhere: the result is the right tensors or a CheckpointError, never another exception', () => {
    const rnd = lcg(7);
    for (const file of ['views.pth', 'views_legacy.pth', 'views_p4.pth']) {
      const good = readFileSync(p(file));
      for (let i = 0; i < 300; i++) {
        const bad = Buffer.from(good);
        const n = 1 + Math.floor(rnd() * 4);
        for (let j = 0; j < n; j++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
        const cut = rnd() < 0.3 ? bad.subarray(0, Math.floor(rnd() * bad.length)) : bad;
        try {
          parseCheckpoint(cut);
        } catch (e) {
          expect(e, `${file} #${i}`).toBeInstanceOf(CheckpointError);
        }
      }
    }
  });

  it('truncated safetensors header', async () => {
    const f = p('bad.safetensors');
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(1000n);
    buf.write('{"a"', 8);
    writeFileSync(f, buf);
    await expect(readCheckpoint(f)).rejects.toThrow(/truncated safetensors file/);
  });
});

describe('reid-studio weights CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'weights', ...args], { encoding: 'utf8' });

  it('lists tensors with dtype and shape (--json)', () => {
    const r = cli(p('views.pth'), '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ format: 'pytorch-zip', wrapper: '', count: 17 });
    expect(j.tensors[0]).toEqual({ key: 'transposed', dtype: 'float32', shape: [5, 4] });
    expect(j.tensors.find((t: { key: string }) => t.key === 'half')).toEqual({ key: 'half', dtype: 'float16', shape: [5, 6] });
    const text = cli(p('resnet50.pth'));
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/layer1\.0\.conv2\.weight\s+float32\s+\[64, 64, 3, 3\]\s+36,864/);
    expect(text.stdout).toMatch(/tensors:\s+320/);
    expect(text.stdout).toMatch(/elements:\s+25,610,205/); // 25,557,032 params + 53,120 running stats + 53 counters
  });

  it('prints the load report for a preset or a graph file', () => {
    const j = JSON.parse(cli(p('resnet50.pth'), '--preset', 'resnet50_ibn_a', '--json').stdout);
    expect(j.counts).toEqual({ loaded: 213, renamed: 213, skipped: 55, missing: 31, mismatched: 52, slots: 296, tensors: 320 });
    const g = join(dir, 'graph.json');
    writeFileSync(g, serializeDocument(buildPreset('resnet18', { numClasses: 751 })));
    const r = cli(p('fastreid_r18.pth'), g, '--keep-classifier');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/fast-reid layout/);
    expect(r.stdout).toMatch(/loaded:\s+105 \(105 renamed\)/);
    expect(r.stdout).toMatch(/backbone\.conv1\.weight -> base\.conv1\.weight/);
  });

  it('bad input: one line on stderr, non-zero exit', () => {
    for (const [args, msg] of [
      [[p('missing.pth')], /no such file/],
      [[p('truncated_zip.pth')], /truncated or damaged zip/],
      [[p('text.pth')], /not a PyTorch/],
      [[p('resnet50.pth'), '--preset', 'resnet51'], /unknown preset "resnet51"/],
      [[], /usage: reid-studio weights FILE/],
    ] as [string[], RegExp][]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^reid-studio: error: /);
    }
  });
});
