import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calls } from '../../core/api/contract.js';
import { RUN_NAME_MAX } from '../../core/api/training-contract.js';
import { Service } from '../../main/service/index.js';

/**
 * A refused API payload reads as one user line (tryout finding: renaming a run to 5,000 characters toasted
 * "invalid request for runs.rename: name: Too big: expected string to have <=120 characters", zod's own text).
 */
const home = mkdtempSync(join(tmpdir(), 'reid-payload-errors-'));
const svc = new Service({ host: 'browser', version: '0.0.0-test', dataDir: home, documentsDir: home });
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function refusal(method: string, payload: unknown): Promise<string> {
  const r = await svc.dispatch(method, payload);
  expect(r.ok ? null : r.error.code).toBe('E_BAD_REQUEST');
  return r.ok ? '' : r.error.message;
}

describe('API payload errors in user words (main/service dispatch, core/api/payload-errors.ts)', () => {
  it('a run name over the limit names the field, its length and the limit the UI inputs use', async () => {
    expect(await refusal('runs.rename', { runId: 'run-1', name: 'x'.repeat(5000) })).toBe(`name: too long (5,000 characters; at most ${RUN_NAME_MAX}) — runs.rename`);
    expect(await refusal('runs.rename', { runId: 'run-1', name: '' })).toBe('name: must not be empty — runs.rename');
    // The schemas and the inputs' maxLength share one constant: the limit the schema enforces is RUN_NAME_MAX.
    expect(calls['runs.rename'].input.safeParse({ runId: 'r', name: 'x'.repeat(RUN_NAME_MAX) }).success).toBe(true);
    expect(calls['train.start'].input.shape.name.safeParse('x'.repeat(RUN_NAME_MAX + 1)).success).toBe(false);
  });

  it('words zod’s other built-in checks too, and keeps a schema’s own message', async () => {
    expect(await refusal('doc.save', { path: 5, text: '{}' })).toBe('path: must be a string, not a number — doc.save');
    expect(await refusal('doc.save', { path: '/a.json' })).toBe('text: missing — doc.save');
    expect(await refusal('app.info', { extra: 1 })).toBe('unknown field extra — app.info');
    expect(await refusal('dialog.open', { kind: 'zip' })).toBe('kind: must be one of document, weights, folder, config — dialog.open');
    expect(await refusal('runs.delete', { runId: '..' })).toMatch(/^runId: invalid run id \(letters, digits/);
    expect(await refusal('doc.open', { path: 'relative.json' })).toBe('path: path must be absolute — doc.open');
    for (const m of ['runs.rename', 'doc.save', 'app.info'])
      expect(await refusal(m, { runId: 7, name: 7, path: 7, text: 7, zz: 1 })).not.toMatch(/Too big|Too small|expected|Invalid input|Unrecognized/);
  });
});
