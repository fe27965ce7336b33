/**
 * Thumbnails are served only for images the user opened as a dataset or a run's evaluation lists (issue
 * #25: a run folder whose run.json says `dataset.root: "/"` widened the allow-list to every image on
 * disk). Real files, the real Service in browser mode, real PNGs written by sharp.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../../main/service/index.js';

const home = mkdtempSync(join(tmpdir(), 'reid-thumbs-'));
const elsewhere = mkdtempSync(join(tmpdir(), 'reid-private-'));
const privateImage = join(elsewhere, 'private', 'photo.png');
const listedImage = join(elsewhere, 'market', 'query', '0001_c1s1_000001_00.png');
const unlistedSibling = join(elsewhere, 'market', 'query', '0002_c1s1_000001_00.png');
let svc: Service;

beforeAll(async () => {
  for (const p of [privateImage, listedImage, unlistedSibling]) {
    mkdirSync(join(p, '..'), { recursive: true });
    await sharp({ create: { width: 8, height: 16, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(p);
  }
  const run = (id: string) => {
    const dir = join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ id, name: id, status: 'completed', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z', dataset: { kind: 'market1501', root: '/' } }));
    return dir;
  };
  run('20260101-000000-forged');
  const evaluated = run('20260101-000000-evaluated');
  // One query and one gallery image, 2-dim features: the run's evaluation lists exactly these files.
  writeFileSync(join(evaluated, 'eval-features.json'), JSON.stringify({ metric: 'cosine', featNorm: true, dim: 2, query: [{ path: listedImage, pid: 1, camid: 0 }], gallery: [{ path: listedImage, pid: 1, camid: 1 }] }));
  writeFileSync(join(evaluated, 'eval-features.bin'), Buffer.from(new Float32Array([1, 0, 1, 0]).buffer));
  svc = new Service({ host: 'browser', version: '9.9.9', dataDir: home, documentsDir: home });
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});

async function thumbs(paths: string[]): Promise<(string | null)[]> {
  const r = await svc.dispatch('dataset.thumbnails', { paths });
  expect(r.ok).toBe(true);
  return (r as { result: { dataUrl: string | null }[] }).result.map((x) => x.dataUrl);
}

describe('thumbnail allow-list', () => {
  it('a run.json with dataset.root "/" does not make every image on disk servable', async () => {
    const got = await svc.dispatch('runs.get', { runId: '20260101-000000-forged' });
    expect(got.ok).toBe(true);
    expect(await thumbs([privateImage, listedImage])).toEqual([null, null]);
  });

  it('a run\'s rank list serves the images its evaluation lists, and not their neighbours', async () => {
    const r = await svc.dispatch('runs.ranklist', { runId: '20260101-000000-evaluated', queries: 1, k: 1 });
    expect(r.ok).toBe(true);
    const [listed, sibling, other] = await thumbs([listedImage, unlistedSibling, privateImage]);
    expect(listed).toMatch(/^data:image\/jpeg;base64,/);
    expect(sibling).toBeNull();
    expect(other).toBeNull();
  });
});
