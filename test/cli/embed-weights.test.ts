/**
 * `embed --weights` (issue 22): a training run folder is taken as `eval` and `export` take it, and weights
 * that leave the feature path partly random are refused (exit 2, the counts and first keys) unless
 * --allow-partial. Outside references: PyTorch computes the run's features from the exported model.py +
 * model.pth; torchvision's own state dicts give the tensors a ResNet-18 checkpoint cannot fill in a ResNet-50.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset, compileToKeras } from '../../core/index.js';
import { writeCheckpoint as writeRunCheckpoint } from '../../main/runs/store/checkpoint.js';
import { weightKey } from '../../main/runs/store/checkpoint-keys.js';
import { sizeClassifier } from '../../main/training/engine/prepare.js';
import { randomWeights } from '../export/graphs.js';
import { maxDiff, PYTHON } from '../parity/fixtures.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'reid-embed-weights-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
const imgs = join(work, 'imgs');

const PY_SETUP = `
import json, os, sys, numpy as np, torch, torchvision
from PIL import Image
torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(out + '/imgs', exist_ok=True)
rng = np.random.default_rng(0)
for i in range(3):
    Image.fromarray(rng.integers(0, 256, (64, 32, 3)).astype(np.uint8)).save(f'{out}/imgs/img{i}.png')
torch.manual_seed(0)
r18 = torchvision.models.resnet18().state_dict()
torch.save(r18, out + '/resnet18.pth')
r50 = torchvision.models.resnet50().state_dict()
feature = [k for k in r50 if not k.startswith('fc.') and not k.endswith('num_batches_tracked')]
gaps = [k for k in feature if k not in r18 or r18[k].shape != r50[k].shape]
json.dump({'feature': len(feature), 'gaps': len(gaps), 'missing': len([k for k in gaps if k not in r18]), 'first': ['base.' + k for k in gaps[:3]]}, open(out + '/expected.json', 'w'))
`;

const PY_FEATURES = `
import json, sys, importlib.util, numpy as np, torch
from PIL import Image
torch.set_num_threads(1)
d, imgs = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location('m', d + '/model.py'); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.build_model(); m.load_weights(net, d + '/model.pth'); net.eval()
x = torch.cat([m.preprocess(Image.open(f'{imgs}/img{i}.png').convert('RGB')) for i in range(3)])
with torch.no_grad(): print(json.dumps(net(x).reshape(-1).tolist()))
`;

beforeAll(() => {
  execFileSync(PYTHON, ['-c', PY_SETUP, work], { timeout: 120_000 });
});

describe('embed --weights RUN_DIR and partial weights (issue 22)', () => {
  it('takes a run folder (classifier sized from the run) and gives the features PyTorch computes from its export', async () => {
    const run = join(work, 'run');
    const doc = sizeClassifier(buildPreset('resnet18', { input: [64, 32] }), 9);
    const weights = randomWeights(compileToKeras(analyze(doc.graph)).layers, 3);
    const tensors = new Map([...weights].map(([k, v]) => [weightKey(k), { shape: [v.length], data: v }]));
    mkdirSync(run, { recursive: true }); // a checkpoint never creates its run folder
    await writeRunCheckpoint(run, { tensors, meta: { weightKeys: [...weights.keys()], step: 4 } });
    writeFileSync(join(run, 'graph.json'), JSON.stringify(doc));
    writeFileSync(join(run, 'run.json'), JSON.stringify({ id: 'r', status: 'completed', numClasses: 9 }));
    const feats = join(work, 'run-feats.json');
    const e = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', run, '--images', imgs, '--out', feats, '--backend', 'wasm');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).not.toMatch(/warning/);
    const j = JSON.parse(readFileSync(feats, 'utf8'));
    expect(j.weights).toEqual({ source: 'checkpoint', step: 4 });
    const exported = join(work, 'run-export');
    expect(cli('export', join(run, 'graph.json'), '--format', 'pytorch', '--weights', run, '--out', exported).status).toBe(0);
    const torch = JSON.parse(execFileSync(PYTHON, ['-c', PY_FEATURES, exported, imgs], { encoding: 'utf8', timeout: 120_000 })) as number[];
    const ours = (j.features as number[][]).flat();
    const { diff, ref } = maxDiff(ours, torch);
    expect(ref).toBeGreaterThan(0.01);
    expect(diff).toBeLessThanOrEqual(1e-4 * ref);
  });

  it('refuses weights that leave the feature path partly random (exit 2, counts, first keys) unless --allow-partial', () => {
    const want = JSON.parse(readFileSync(join(work, 'expected.json'), 'utf8')) as { feature: number; gaps: number; missing: number; first: string[] };
    const feats = join(work, 'partial.json');
    const args = ['embed', '--preset', 'resnet50', '--neck', 'no', '--input', '64x32', '--weights', join(work, 'resnet18.pth'), '--images', imgs, '--out', feats, '--backend', 'wasm'];
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${want.gaps} of ${want.feature} weight(s) of the feature path are not in resnet18.pth (${want.missing} missing, ${want.gaps - want.missing} of another shape)`);
    expect(r.stderr).toContain(`(first: ${want.first.join(', ')})`);
    expect(r.stderr).toMatch(/--allow-partial/);
    expect(existsSync(feats)).toBe(false);
    const ok = cli(...args, '--allow-partial');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/warning: \d+ of \d+ weight\(s\) of the feature path/);
    expect(existsSync(feats)).toBe(true);
  });

  it('names only the engine that computes the features: --backend auto on onnxruntime prints no tfjs backend line', () => {
    const feats = join(work, 'auto-feats.json');
    const e = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', join(work, 'run'), '--images', imgs, '--out', feats);
    expect(e.status, e.stderr).toBe(0);
    const lines = e.stderr.split('\n').filter((l) => l.startsWith('reid-studio: ') && /backend|features on/.test(l));
    // onnxruntime-node is a dependency of the app, so `auto` computes the features on it here.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^reid-studio: features on onnxruntime \(\d+ threads\): /);
    // A tfjs backend that does compute them is named, once.
    const w = cli('embed', '--preset', 'resnet18', '--input', '64x32', '--weights', join(work, 'run'), '--images', imgs, '--out', feats, '--backend', 'wasm');
    expect(w.status, w.stderr).toBe(0);
    expect(w.stderr.split('\n').filter((l) => l.startsWith('reid-studio: backend wasm'))).toHaveLength(1);
  }, 300_000);
});
