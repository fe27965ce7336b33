/**
 * Training job folders (issue 21 "Out"): `export --format fastreid-job | rsb-job`. The config is one the
 * framework's yacs accepts (test/config/yacs_merge.py), the weights load strictly into fast-reid's Baseline
 * (test/export/check_fastreid.py's module tree), and train.sh launches the exact command: a stand-in
 * tools/train_net.py in FASTREID_HOME records its argv. That fast-reid's real train_net.py trains such a
 * folder is shown by test/fixtures/external-runs/make.py (fastreid-job/ → fastreid-r18/, outside CI).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const MERGE = fileURLToPath(new URL('../config/yacs_merge.py', import.meta.url));
const CKPT_PY = fileURLToPath(new URL('./fastreid_checkpoint.py', import.meta.url));
const EXPORT_DIR = fileURLToPath(new URL('../export/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'reid-job-'));
const env = { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 300_000 });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A FASTREID_HOME / RSB_HOME whose tools/<script> prints its cwd and argv as JSON instead of training. */
function fakeHome(script: string): string {
  const home = join(tmp, `home-${script}`);
  mkdirSync(join(home, 'tools'), { recursive: true });
  writeFileSync(join(home, 'tools', script), 'import json, os, sys\nprint(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:], "datasets": os.environ.get("FASTREID_DATASETS")}))\n');
  return home;
}

describe('export --format fastreid-job', () => {
  const job = join(tmp, 'fr-job');
  it('writes config, weights in fast-reid layout, train.sh and README; the launch command is exact', () => {
    const weights = join(tmp, 'fr-init.pth');
    execFileSync(PYTHON, [CKPT_PY, weights, '1', '751', '256', '128', join(tmp, 'none.json')], { stdio: 'ignore', timeout: 120_000 });
    const r = cli('export', '--preset', 'resnet18', '--fastreid-stem', '--num-classes', '751', '--format', 'fastreid-job', '--weights', weights, '--gpus', '4', '--machines', '2', '--out', job, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(job).sort()).toEqual(['.reid-studio-export.json', 'README.md', 'config.yml', 'graph.json', 'model.pth', 'train.sh']);
    // fast-reid's yacs accepts the config; OUTPUT_DIR points inside the job folder.
    const merged = JSON.parse(execFileSync(PYTHON, [MERGE, 'fastreid', join(job, 'config.yml')], { encoding: 'utf8' }).trim()) as { ok: boolean; cfg: Record<string, Record<string, unknown>> };
    expect(merged.ok).toBe(true);
    expect(merged.cfg.OUTPUT_DIR).toBe('output');
    expect(merged.cfg.MODEL!.BACKBONE).toMatchObject({ DEPTH: '18x' });
    // model.pth loads strictly into fast-reid's Baseline as its Checkpointer does (pop 'model').
    const py = `import sys, torch; sys.path.insert(0, ${JSON.stringify(EXPORT_DIR)}); from check_fastreid import Baseline
m = Baseline(18, False, 1, 751, 'avg', 'bnneck', [0.0]*3, [1.0]*3); ck = torch.load(${JSON.stringify(join(job, 'model.pth'))}); m.load_state_dict(ck.pop('model'), strict=True)
src = torch.load(${JSON.stringify(weights)})['model']; print(max(float((m.state_dict()[k].float() - v.float()).abs().max()) for k, v in src.items()))`;
    expect(Number(execFileSync(PYTHON, ['-c', py], { encoding: 'utf8' }).trim())).toBe(0);

    const home = fakeHome('train_net.py');
    const run = (args: string[], extra: Record<string, string>) => spawnSync('bash', [join(job, 'train.sh'), ...args], { encoding: 'utf8', env: { ...process.env, FASTREID_HOME: home, FASTREID_DATASETS: '/data/sets', ...extra } });
    const base = ['--config-file', join(job, 'config.yml')];
    const tail = ['OUTPUT_DIR', join(job, 'output'), 'MODEL.WEIGHTS', join(job, 'model.pth'), 'MODEL.BACKBONE.PRETRAIN', 'False'];
    // Exported for 2 machines: without DIST_URL, train.sh refuses; with it, machine 1 of 2.
    const refused = run(['0'], {});
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/several machines need DIST_URL=tcp:/);
    const m1 = run(['1', 'SOLVER.MAX_EPOCH', '60'], { DIST_URL: 'tcp://10.0.0.1:29500' });
    expect(m1.status, m1.stderr).toBe(0);
    expect(JSON.parse(m1.stdout)).toEqual({ cwd: home, datasets: '/data/sets', argv: [...base, '--num-gpus', '4', '--num-machines', '2', '--machine-rank', '1', '--dist-url', 'tcp://10.0.0.1:29500', ...tail, 'SOLVER.MAX_EPOCH', '60'] });
    // One machine.
    const one = run([], { NUM_MACHINES: '1', NUM_GPUS: '8' });
    expect(one.status, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).argv).toEqual([...base, '--num-gpus', '8', '--num-machines', '1', '--machine-rank', '0', '--dist-url', 'auto', ...tail]);
    const readme = readFileSync(join(job, 'README.md'), 'utf8');
    expect(readme).toContain('DIST_URL=tcp://HOST0:29500');
    expect(readme).toContain('runs import output');
  }, 300_000);

  it('refuses a graph fast-reid cannot express before writing anything', () => {
    const out = join(tmp, 'refused-job');
    const r = cli('export', '--preset', 'resnet18', '--format', 'fastreid-job', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot export to fastreid-job: the stem is reid-strong-baseline's/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('export --format rsb-job', () => {
  it("writes RSB's tools/train.py launch (one machine) and refuses several machines", () => {
    const job = join(tmp, 'rsb-job');
    const r = cli('export', '--preset', 'resnet50', '--num-classes', '751', '--format', 'rsb-job', '--gpus', '2', '--out', job);
    expect(r.status, r.stderr).toBe(0);
    const merged = JSON.parse(execFileSync(PYTHON, [MERGE, 'rsb', join(job, 'config.yml')], { encoding: 'utf8' }).trim()) as { ok: boolean; cfg: Record<string, unknown> };
    expect(merged.ok).toBe(true);
    expect(merged.cfg.OUTPUT_DIR).toBe('output');
    const home = fakeHome('train.py');
    const run = spawnSync('bash', [join(job, 'train.sh')], { encoding: 'utf8', env: { ...process.env, RSB_HOME: home, RSB_DATASETS: '/data/sets' } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).argv).toEqual([`--config_file=${join(job, 'config.yml')}`, 'MODEL.DEVICE_ID', "('0,1')", 'DATASETS.ROOT_DIR', "('/data/sets')", 'OUTPUT_DIR', `('${join(job, 'output')}')`]);
    const two = cli('export', '--preset', 'resnet50', '--num-classes', '751', '--format', 'rsb-job', '--machines', '2', '--out', join(tmp, 'rsb2'));
    expect(two.status).toBe(2);
    expect(two.stderr).toMatch(/reid-strong-baseline trains on one machine/);
  }, 120_000);

  it('with weights: backbone.pth loads into torchvision / RSB resnet.py (load_param: all but fc), train.sh passes it, and the notes say so instead of "PRETRAIN_PATH is empty"', () => {
    const weights = join(tmp, 'tv18.pth');
    execFileSync(PYTHON, ['-c', `import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18().state_dict(), ${JSON.stringify(weights)})`], { timeout: 120_000 });
    const job = join(tmp, 'rsb-job-w');
    const r = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'rsb-job', '--weights', weights, '--out', job);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .* \(reid-strong-baseline training job: config\.yml, train\.sh, README\.md, graph\.json, backbone\.pth\)$/m);
    expect(r.stdout).toContain("note: train.sh sets MODEL.PRETRAIN_CHOICE 'imagenet' and MODEL.PRETRAIN_PATH to backbone.pth");
    expect(r.stdout).not.toMatch(/PRETRAIN_PATH is empty|needs editing before it trains: .*PRETRAIN_PATH/);
    expect(readFileSync(join(job, 'README.md'), 'utf8')).not.toMatch(/PRETRAIN_PATH is empty/);
    expect(readFileSync(join(job, 'config.yml'), 'utf8')).not.toMatch(/TO FILL IN.*\n\s*PRETRAIN_PATH/);
    const py = `import torch, torchvision; m = torchvision.models.resnet18(); sd = torch.load(${JSON.stringify(join(job, 'backbone.pth'))})
missing, unexpected = m.load_state_dict(sd, strict=False); src = torch.load(${JSON.stringify(weights)})
print(sorted(missing), unexpected, max(float((sd[k].float() - src[k].float()).abs().max()) for k in sd))`;
    expect(execFileSync(PYTHON, ['-c', py], { encoding: 'utf8' }).trim()).toBe("['fc.bias', 'fc.weight'] [] 0.0");
    const run = spawnSync('bash', [join(job, 'train.sh')], { encoding: 'utf8', env: { ...process.env, RSB_HOME: fakeHome('train.py'), RSB_DATASETS: '/data/sets' } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).argv.slice(-4)).toEqual(['MODEL.PRETRAIN_CHOICE', "('imagenet')", 'MODEL.PRETRAIN_PATH', `('${join(job, 'backbone.pth')}')`]);
    // Without weights no backbone.pth is written, and the line does not say there is one.
    const bare = cli('export', '--preset', 'resnet18', '--input', '64x32', '--format', 'rsb-job', '--out', join(tmp, 'rsb-job-bare'));
    expect(bare.stdout).toMatch(/^wrote .* \(reid-strong-baseline training job: config\.yml, train\.sh, README\.md, graph\.json\)$/m);
    expect(bare.stdout).toMatch(/MODEL\.PRETRAIN_PATH is empty/);
  }, 120_000);
});
