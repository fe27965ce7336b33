/**
 * `train --preset NAME --num-classes N` with N other than the training identities: the trainer sizes the
 * classifier to the data (as fast-reid's NUM_CLASSES 0 / auto_scale_hyperparams and reid-strong-baseline's
 * build_model(cfg, num_classes) do), so the flag has no effect — said in a note, not silently dropped. The tiny
 * demo set has 12 training identities (its summary line; test/cli/train.test.ts's P = 16 refusal).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'reid-train-num-classes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train --num-classes', () => {
  it('other than the training identities: a note, the classifier sized to the data', () => {
    const out = join(tmp, 'run');
    const r = spawnSync(process.execPath, [BIN, 'train', '--preset', 'resnet18', '--num-classes', '5', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--epochs', '1', '--batch', '4,2', '--out', out, '--progress', 'lines'], {
      encoding: 'utf8',
      timeout: 400_000,
      env: { ...process.env, REID_STUDIO_HOME: join(tmp, 'home') },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/train +12 ids/);
    expect(r.stderr).toContain("note: --num-classes 5 is not used: the classifier is sized to the training set's 12 identities");
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).numClasses).toBe(12);
  }, 480_000);
});
