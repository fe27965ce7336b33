import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importConfigFile } from '../../main/service/config-import.js';

/**
 * Import errors say each thing once (tryout finding: "/p/bad.yml: /p/bad.yml is not valid YAML" and "cannot read
 * _BASE_ X (from Y): cannot read _BASE_ X: no such file"). Real files; the messages are the CLI's and the UI's.
 */
const dir = mkdtempSync(join(tmpdir(), 'reid-import-msg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

function message(path: string): string {
  try {
    importConfigFile(path);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${path} imported`);
}
const times = (text: string, part: string) => text.split(part).length - 1;

describe('config import error messages', () => {
  it('a file that is not YAML is named once', () => {
    const bad = file('bad.yml', 'MODEL:\n  NAME: [resnet50\n');
    const m = message(bad);
    expect(m).toMatch(/^\/.*bad\.yml is not valid YAML: /);
    expect(times(m, bad)).toBe(1);
  });

  it('a missing _BASE_ is named once, with its includer and the reason', () => {
    const child = file('child.yml', '_BASE_: nothere.yml\nMODEL:\n  META_ARCHITECTURE: Baseline\n');
    expect(message(child)).toBe(`cannot read _BASE_ ${join(dir, 'nothere.yml')} (from ${child}): no such file or folder`);
    // Two levels down, the imported file is named first, once.
    const top = file('top.yml', '_BASE_: child.yml\nSOLVER:\n  BASE_LR: 0.1\n');
    expect(message(top)).toBe(`${top}: cannot read _BASE_ ${join(dir, 'nothere.yml')} (from ${child}): no such file or folder`);
  });

  it('a broken _BASE_ names the importing file and the broken one, each once', () => {
    const broken = file('broken.yml', 'MODEL:\n  NAME: [x\n');
    const inc = file('inc.yml', '_BASE_: broken.yml\nMODEL:\n  META_ARCHITECTURE: Baseline\n');
    const m = message(inc);
    expect(m).toMatch(new RegExp(`^${inc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid YAML`));
    expect([times(m, inc), times(m, broken)]).toEqual([1, 1]);
  });
});
