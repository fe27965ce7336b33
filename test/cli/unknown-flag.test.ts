/**
 * A flag a command does not take (main/cli/help.ts `unknownFlagMessage`): one line naming the flag, the
 * command's nearest flag when the typo is close, and where its flags are listed — not Node's parseArgs text,
 * whose positional hint ends with an unbalanced quote (`as in '-- "--max-steps"`). README's synopses name
 * only flags the commands' help tables list (the table the message suggests from).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP } from '../../main/cli/help.js';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('an unknown flag', () => {
  it.each([
    [['train', '--max-steps', '5'], `Unknown option '--max-steps' (see "reid-studio train --help" for its flags)`],
    [['train', '--epoch', '3'], `Unknown option '--epoch'; did you mean --epochs? (see "reid-studio train --help" for its flags)`],
    [['eval', '--chekpoint', 'best'], `Unknown option '--chekpoint'; did you mean --checkpoint? (see "reid-studio eval --help" for its flags)`],
    [['export', '--fastreid_stem'], `Unknown option '--fastreid_stem'; did you mean --fastreid-stem? (see "reid-studio export --help" for its flags)`],
  ])('%j: one line, exit 2, balanced quotes, the nearest flag', (args, line) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`reid-studio: error: ${line}\n`);
    expect(r.stderr.split("'").length % 2).toBe(1);
    expect(r.stderr.split('"').length % 2).toBe(1);
  });

  it('runs without its subcommand names it (not an unknown subcommand "")', () => {
    const r = cli('runs');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('reid-studio: error: runs needs a subcommand: runs import DIR [--json] (the runs themselves are folders: train --out RUN_DIR, eval RUN_DIR)\n');
    expect(cli('runs', 'list').stderr).toBe('reid-studio: error: runs: unknown subcommand "list" (runs import DIR [--json])\n');
  });

  it("README's command synopses use only flags of the commands' help tables", () => {
    const lines = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n');
    const unknown: string[] = [];
    let synopses = 0;
    lines.forEach((line, i) => {
      const m = /^npx reid-studio ([a-z-]+)(?: ([a-z]+))?/.exec(line);
      if (!m) return;
      // A synopsis continues on the next line after a trailing backslash; `#` starts its comment.
      let text = line.replace(/#.*$/, '');
      for (let j = i; lines[j]!.trimEnd().endsWith('\\'); j++) text += ' ' + lines[j + 1]!.replace(/#.*$/, '');
      const cmd = m[2] && HELP[`${m[1]} ${m[2]}`] ? `${m[1]} ${m[2]}` : m[1]!;
      expect(HELP[cmd], `README line ${i + 1}: no help table for ${cmd}`).toBeDefined();
      const known = new Set(HELP[cmd]!.flags.flatMap(([f]) => f.match(/--[a-z0-9-]+/g) ?? []));
      unknown.push(...(text.match(/--[a-z0-9-]+/g) ?? []).filter((f) => !known.has(f)).map((f) => `README line ${i + 1}: ${cmd} ${f}`));
      synopses++;
    });
    expect(synopses).toBeGreaterThanOrEqual(10);
    expect(unknown).toEqual([]);
  });
});
