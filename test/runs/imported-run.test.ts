/**
 * createImportedRun (#21's import, the run room's side): a run whose training happened in a framework gets a
 * run folder of its own — unique id, status "external: <framework>", its origin — and the framework's output
 * folder is never written: its listing and bytes are the same after import, resume and delete.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createImportedRun, RunStateError } from '../../main/runs/lifecycle.js';
import { Service } from '../../main/service/index.js';

/** Every file under `dir` with the SHA-256 of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

describe('createImportedRun', () => {
  it('records the origin, says "external: <framework>", refuses resume, and never writes the source', async () => {
    const home = mkdtempSync(join(tmpdir(), 'reid-import-run-'));
    const source = join(home, 'fastreid-output');
    mkdirSync(source);
    writeFileSync(join(source, 'metrics.json'), '{"iteration": 19, "loss_cls": 6.5}\n');
    writeFileSync(join(source, 'last_checkpoint'), 'model_final.pth');
    const before = snapshot(source);
    const runsDir = join(home, 'runs');
    const a = await createImportedRun(runsDir, { framework: 'fast-reid', source, dataset: { kind: 'market1501', root: '/data/market' } });
    const b = await createImportedRun(runsDir, { framework: 'fast-reid', source });
    expect(a.id).not.toBe(b.id);
    expect(JSON.parse(readFileSync(join(a.dir, 'run.json'), 'utf8'))).toMatchObject({ id: a.id, name: 'fastreid-output', status: 'external: fast-reid', origin: { framework: 'fast-reid', source }, dataset: { kind: 'market1501', root: '/data/market' } });
    const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
    const listed = await svc.call('runs.list', {});
    expect(listed.map((r) => [r.id, r.status]).sort()).toEqual([
      [a.id, 'external: fast-reid'],
      [b.id, 'external: fast-reid'],
    ].sort());
    const resume = await svc.dispatch('train.resume', { runId: a.id });
    expect(resume).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    if (!resume.ok) expect(resume.error.message).toMatch(/imported from fast-reid .*trains there/);
    expect(await svc.dispatch('runs.delete', { runId: a.id })).toEqual({ ok: true, result: { ok: true } });
    expect(snapshot(source)).toEqual(before);
    await expect(createImportedRun(runsDir, { framework: 'fast-reid', source: join(home, 'nope') })).rejects.toThrow(RunStateError);
  });
});
