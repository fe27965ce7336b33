/**
 * Nothing is disclosed (issue #25): `import` of a config whose `_BASE_` is a system file (a password
 * database, any non-config text) used to exit 0 listing every line of it as "ignored" keys; browser mode's
 * `config.import` quoted it in its error. A file that does not parse as a yacs config (a YAML mapping of
 * attribute-name keys, as yacs reads `cfg.MODEL.NAME`) is refused without a word of its content, and a
 * `_BASE_` holding a NUL byte gets our message, not the runtime's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Service } from '../../main/service/index.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'reid-disclose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_HOME: dir } });

// shadow(5) lines: name:password:lastchange:min:max:warn:inactive:expire: (YAML reads each as a key).
const SHADOW = 'root:$6$SECRETSALT$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nSECRETUSER:!:19000::::::\n';
const TEXTS: Record<string, string> = {
  shadow: SHADOW,
  // os-release(5): KEY=value lines, a YAML string.
  'os-release': 'PRETTY_NAME="SECRET Linux"\nID=secret\n',
  // A YAML mapping whose keys are not names.
  'hosts.yml': '127.0.0.1 SECRETHOST: localhost\n"::1": SECRETV6\n',
};

function config(name: string, base: string): string {
  const f = join(dir, name);
  writeFileSync(f, `_BASE_: ${JSON.stringify(base)}\nMODEL:\n  META_ARCHITECTURE: Baseline\n`);
  return f;
}

describe('a _BASE_ that is not a config is never quoted', () => {
  for (const [name, text] of Object.entries(TEXTS))
    it(`CLI import with _BASE_: ${name}: exit 2, one line, no content`, () => {
      writeFileSync(join(dir, name), text);
      const r = cli('import', config(`with-${name}.yml`, join(dir, name)), '--out', join(dir, `${name}.json`));
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${name.replace('.', '\\.')} is not a YAML mapping of config keys`));
      expect(r.stderr).not.toMatch(/SECRET|root|daemon|localhost/);
    });

  it('the file itself (not as a base) is refused the same way', () => {
    const r = cli('import', join(dir, 'shadow'), '--out', join(dir, 'x.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/SECRET|root|daemon/);
  });

  it('browser mode: config.import answers E_BAD_REQUEST without quoting the base', async () => {
    writeFileSync(join(dir, 'shadow'), SHADOW);
    const svc = new Service({ host: 'browser', version: '9.9.9', dataDir: dir, documentsDir: dir });
    const r = await svc.dispatch('config.import', { path: config('svc.yml', join(dir, 'shadow')) });
    expect(r).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    if (!r.ok) {
      expect(r.error.message).toMatch(/shadow is not a YAML mapping of config keys/);
      expect(r.error.message).not.toMatch(/SECRET|root|daemon/);
    }
  });

  it('a _BASE_ with a NUL byte gets our one-line message', () => {
    const f = join(dir, 'nul.yml');
    writeFileSync(f, '_BASE_: "base\\0.yml"\nMODEL:\n  META_ARCHITECTURE: Baseline\n');
    const r = cli('import', f, '--out', join(dir, 'nul.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`reid-studio: error: ${f}: _BASE_ is not a valid file path (it holds a NUL character)\n`);
  });
});
