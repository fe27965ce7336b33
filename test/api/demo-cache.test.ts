/**
 * The demo dataset cache lives under the host's `--data-dir` (issue 15): with `serve --data-dir DIR`,
 * inspecting the demo dataset writes into DIR only — not into REID_STUDIO_HOME, the user's config folder
 * ($XDG_CONFIG_HOME / ~/.config) or anywhere else in $HOME.
 */
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, serve, type Served } from '../e2e/harness.js';

let s: Served;
const root = mkdtempSync(join(tmpdir(), 'reid-datadir-'));
const dataDir = join(root, 'data');
const home = join(root, 'home');
const fakeHome = join(root, 'user');
const xdg = join(fakeHome, '.config');

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => [prefix + e.name, ...(e.isDirectory() ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [])]);
}

beforeAll(async () => {
  s = await serve({ home, args: ['--data-dir', dataDir], env: { HOME: fakeHome, XDG_CONFIG_HOME: xdg } });
});
afterAll(async () => {
  await s?.stop();
  cleanup(root, s.docs);
});

describe('demo dataset cache with --data-dir', () => {
  it('is generated under the data dir and nothing is written outside it', async () => {
    const before = { home: tree(home), user: tree(fakeHome) };
    const r = await fetch(`http://127.0.0.1:${s.port}/api/dataset.inspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-reid-token': s.token },
      body: JSON.stringify({ data: { kind: 'demo', size: 'tiny' } }),
    });
    const body = (await r.json()) as { ok: boolean; result: { root: string; numClasses: number } };
    expect(body.ok).toBe(true);
    expect(body.result.root).toBe(join(dataDir, 'demo', 'tiny-seed0'));
    expect(body.result.numClasses).toBe(12); // the tiny demo size has 12 training identities
    expect(tree(dataDir)).toContain('demo/tiny-seed0/bounding_box_train');
    expect(tree(home)).toEqual(before.home);
    expect(tree(fakeHome)).toEqual(before.user);
  });
});
