import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The bundled CLI (built by test/global-setup.ts), exactly what `npx reid-studio` runs.
const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'reid-demo-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('reid-studio demo-data', () => {
  it('writes a tiny Market-layout dataset and prints its summary; refuses a foreign non-empty folder', () => {
    const out = join(tmp, 'demo');
    const r = cli('demo-data', '--out', out, '--size', 'tiny', '--seed', '4', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.size).toBe('tiny');
    expect(s.summary.train.identities).toBe(12);
    expect(s.summary.query.images).toBe(readdirSync(join(out, 'query')).length);
    // Junk (pid −1) files are on disk but dropped by the reader.
    expect(s.junkDropped).toBeGreaterThan(0);
    expect(readdirSync(join(out, 'bounding_box_test')).some((f) => f.startsWith('-1_c'))).toBe(true);

    const text = cli('demo-data', '--out', out, '--size', 'tiny');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/train\s+12 ids/);

    const foreign = join(tmp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'x.txt'), 'keep me');
    const bad = cli('demo-data', '--out', foreign);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not empty and is not a demo dataset/);
    expect(readdirSync(foreign)).toEqual(['x.txt']);
    expect(cli('demo-data', '--out', join(tmp, 'y'), '--size', 'huge').stderr).toMatch(/--size must be one of tiny, small, medium/);
    expect(cli('demo-data').stderr).toMatch(/needs --out DIR/);
  });

  it('--out that is a file, or on a kernel file system, is one line naming it (not an errno text with a temp name)', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'keep me');
    const onFile = cli('demo-data', '--out', file, '--size', 'tiny');
    expect([onFile.status, onFile.stderr]).toEqual([2, `reid-studio: error: ${file} is a file, not a folder: choose an empty or new folder for the demo dataset\n`]);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const proc = cli('demo-data', '--out', '/proc/self/demo', '--size', 'tiny');
    expect(proc.status).toBe(2);
    expect(proc.stderr).toMatch(/^reid-studio: error: cannot write the demo dataset: \/proc\/self\/demo: (the file system takes no new files here|permission denied)[^\n]*\n$/);
    expect(proc.stderr).not.toMatch(/tmp-|ENOENT|mkdir/);
  });
});
