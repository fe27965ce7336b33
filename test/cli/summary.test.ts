import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const json = (...args: string[]) => {
  const r = cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
};
const tmp = mkdtempSync(join(tmpdir(), 'reid-cli-'));

describe('reid-studio CLI: presets and summary', () => {
  it('presets lists the 15 ResNet names (plain, IBN-a, IBN-b per depth), the six RSB SENets, fast-reid\'s two ResNeSts, then the twelve fast-reid recipe presets', () => {
    const r = cli('presets');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(36);
    expect(r.stdout.trim().split('\n').slice(21, 23)).toEqual(['resnest50', 'resnest101']);
    expect(r.stdout).toContain('resnet101_ibn_a');
    expect(r.stdout).toContain('resnet50_ibn_b');
    expect(r.stdout).toContain('se_resnext50_32x4d');
    expect(r.stdout.trim().split('\n').slice(23)).toEqual([...['bagtricks', 'AGW', 'sbs'].flatMap((f) => ['R50', 'R50-ibn', 'R101-ibn', 'S50'].map((b) => `fastreid_${f}_${b}`)), 'fastreid_mgn_R50-ibn']);
  });

  it("summary of fastreid_bagtricks_S50 has fast-reid's parameter count", () => {
    // sum(p.numel() for p in build_model(cfg).parameters()) of fast-reid's own model on configs/Market1501/bagtricks_S50.yml
    // (NUM_CLASSES 751): ResNeSt-50 backbone 25,434,240 + BNNeck 2·2048 + class weight 751·2048; the BNNeck shift is frozen.
    const s = json('summary', '--preset', 'fastreid_bagtricks_S50');
    expect(s.totalParams).toBe(25_434_240 + 4096 + 751 * 2048);
    expect(s.trainableParams).toBe(s.totalParams - 2048);
  });

  it('summary of a fast-reid recipe preset: SBS R50 = resnet50 + BNNeck + 751-way classifier + the GeM-P exponent', () => {
    // torchvision resnet50 without fc: 25,557,032 − 2,049,000; BNNeck 2·2048; classifier 751·2048; GeM-P p: 1;
    // WITH_NL: fast-reid's Non_local (inter_channels 1) has g / θ / φ 1×1 convs C→1 with bias (3·(C + 1)), W's
    // conv 1→C with bias (2C) and its BatchNorm (2C): 7C + 3 each, two after layer2 (C = 512), three after layer3 (C = 1024).
    const nl = (c: number) => 7 * c + 3;
    expect(json('summary', '--preset', 'fastreid_sbs_R50').totalParams).toBe(25_557_032 - 2_049_000 + 4096 + 751 * 2048 + 1 + 2 * nl(512) + 3 * nl(1024));
    expect(cli('summary', '--preset', 'fastreid_sbs_R50', '--input', '64x32').stderr).toMatch(/--input does not apply to the fast-reid recipe preset fastreid_sbs_R50/);
  });

  it('summary --json carries the contract fields, with torchvision\'s counts', () => {
    const s = json('summary', '--preset', 'resnet50', '--neck', 'no', '--num-classes', '1000', '--last-stride', '2');
    expect(s.totalParams).toBe(25_557_032);
    expect(s.trainableParams).toBe(25_557_032);
    expect(s.featureDim).toBe(2048);
    expect(s.featureMap).toEqual([8, 4, 2048]);
    const stem = s.nodes.find((n: { name: string }) => n.name === 'base');
    expect(stem).toMatchObject({ kind: 'stem', outputShape: [64, 32, 64], params: 9536, trainable: true });
    expect(json('summary', '--preset', 'resnet152_ibn_a', '--neck', 'no', '--num-classes', '1000', '--last-stride', '2').totalParams).toBe(60_192_808);
  });

  it('--freeze-backbone, --input, --neck-feat', () => {
    const s = json('summary', '--preset', 'resnet50', '--freeze-backbone');
    expect([s.totalParams, s.trainableParams]).toEqual([25_050_176, 1_540_096]);
    expect(json('summary', '--preset', 'resnet50', '--input', '384x128').featureMap).toEqual([24, 8, 2048]);
    // fast-reid MGN (Base-MGN.yml LAST_STRIDE 1, 384×128): the global branch b1's whole layer4 map, 384×128 / 16, as the
    // activation maps draw it (core/compile/actmap.ts), not the last stripe head's torch.chunk part ([8, 8, 2048] before).
    expect(json('summary', '--preset', 'fastreid_mgn_R50-ibn').featureMap).toEqual([24, 8, 2048]);
    expect(json('summary', '--preset', 'resnet34').featureDim).toBe(512);
  });

  it('--expand lists primitive layers with PyTorch names', () => {
    const s = json('summary', '--preset', 'resnet50_ibn_a', '--expand');
    const ibn = s.nodes.filter((n: { kind: string }) => n.kind === 'ibn_a');
    expect(ibn).toHaveLength(13);
    expect(ibn.every((n: { name: string }) => /^base\.layer[123]\.\d+\.bn1$/.test(n.name))).toBe(true);
    const kinds = new Set(s.nodes.map((n: { kind: string }) => n.kind));
    for (const k of ['conv2d', 'batch_norm', 'ibn_a', 'relu', 'max_pool', 'add', 'linear', 'global_avg_pool']) expect(kinds).toContain(k);
    expect(s.nodes.find((n: { name: string }) => n.name === 'bottleneck')).toMatchObject({ params: 4096, trainable: true });
  });

  it('reads a graph file and prints a readable table', () => {
    const f = join(tmp, 'g.json');
    writeFileSync(f, serializeDocument(buildPreset('resnet18')));
    const r = cli('summary', f);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/total params:\s+11,562,048/);
    expect(r.stdout).toMatch(/base\.layer1\s+stage\s+\[64, 32, 64\]/);
  });

  const bad: [string, string[], RegExp][] = [
    ['unknown preset', ['summary', '--preset', 'vgg16'], /unknown preset "vgg16"/],
    ['bad option value', ['summary', '--neck', 'maybe'], /--neck must be one of bnneck, no/],
    ['bad input size', ['summary', '--input', '256by128'], /--input must be HxW/],
    ['unknown flag', ['summary', '--bogus'], /Unknown option '--bogus'/],
    ['missing file', ['summary', join(tmp, 'nope.json')], /no such file/],
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
  ];
  it.each(bad)('%s: one-line error, non-zero exit, no stack trace', (_what, args, msg) => {
    const r = cli(...args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('malformed, newer-version and invalid graphs are refused with the reason', () => {
    const write = (name: string, text: string) => (writeFileSync(join(tmp, name), text), join(tmp, name));
    let r = cli('summary', write('broken.json', '{"format": "reid-studio-graph", '));
    expect(r.stderr).toMatch(/not valid JSON/);
    r = cli('summary', write('newer.json', JSON.stringify({ ...buildPreset('resnet18'), version: 99 })));
    expect(r.stderr).toMatch(/newer ReID Studio/);
    const doc = buildPreset('resnet18');
    doc.graph.edges = doc.graph.edges.filter((e) => e.target !== 'layer2');
    r = cli('summary', write('invalid.json', serializeDocument(doc)));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\[E_UNCONNECTED_INPUT\]/);
    for (const out of [r]) expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });
});
