import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, importConfig, MAX_CONFIG_CHARS, MAX_CONFIG_DEPTH, MAX_CONFIG_VALUES } from '../../core/config/index.js';

/**
 * The YAML importer is bounded: alias expansion, nesting, file size and `_BASE_` chains are capped, and every
 * input — hand-made hostile ones and fast-check's — ends in a document or a one-line ConfigError.
 */

function refusal(text: string, opts: Parameters<typeof importConfig>[1] = {}): string {
  try {
    importConfig(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toMatch(/\n/);
    return msg;
  }
  throw new Error('imported, expected a refusal');
}

describe('YAML bounds', () => {
  it('alias expansion is capped (billion laughs)', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(refusal(lines.join('\n') + '\n')).toMatch(new RegExp(`more than ${MAX_CONFIG_VALUES} values after expanding aliases`));
    // Merge keys expand through the same count.
    const merges = ['x0: &x0 {A: 1, B: 2}', ...Array.from({ length: 30 }, (_, i) => `x${i + 1}: &x${i + 1}\n  <<: [*x${i}]\n  K${i}: [${Array(50).fill(`*x${i}`).join(',')}]`)];
    expect(refusal(merges.join('\n') + '\n')).toMatch(/values after expanding aliases/);
  });

  it('nesting depth and file size are capped', () => {
    expect(refusal('MODEL: ' + '['.repeat(30_000) + ']'.repeat(30_000) + '\n')).toMatch(new RegExp(`nested more than ${MAX_CONFIG_DEPTH} levels`));
    const block = Array.from({ length: MAX_CONFIG_DEPTH + 5 }, (_, i) => `${' '.repeat(i)}K${i}:`).join('\n') + ' 1\n';
    expect(refusal(block)).toMatch(new RegExp(`nested more than ${MAX_CONFIG_DEPTH} levels`));
    expect(refusal('# padding\n'.repeat(MAX_CONFIG_CHARS / 10 + 1))).toMatch(/larger than 64 KiB/);
  });

  it('_BASE_ chains are depth-capped and cycles detected, a config including itself too', () => {
    const self = { path: 'cfg/a.yml', resolveBase: (p: string) => (p === 'cfg/a.yml' ? '_BASE_: a.yml\n' : '') };
    expect(refusal('_BASE_: a.yml\n', self)).toMatch(/_BASE_ cycle: cfg\/a\.yml → cfg\/a\.yml/);
    expect(refusal('_BASE_: ./a.yml\n', { ...self, path: './cfg/a.yml' })).toMatch(/_BASE_ cycle: cfg\/a\.yml → cfg\/a\.yml/);
    const chain = { path: 'c/0.yml', resolveBase: (p: string) => `_BASE_: ${Number(/(\d+)\.yml$/.exec(p)![1]) + 1}.yml\n` };
    expect(refusal('_BASE_: 1.yml\n', chain)).toMatch(/_BASE_ chain deeper than 16 files/);
  });

  it('fuzz: every input ends in a document or a one-line ConfigError', () => {
    const token = fc.constantFrom(
      'MODEL:', 'NAME:', ' resnet50', "'resnet50_ibn_a'", 'BACKBONE:', 'DEPTH: 50x', 'SOLVER:', 'BASE_LR: 1e-4', 'STEPS: [40, 70]', 'NAMES: ("Market1501",)',
      '_BASE_: b.yml', '&a', '*a', '<<: *a', '<<:', '!!python/tuple', '!!int', '!!float', '!!str', '!foo', '? ', '- ', '[', ']', '{', '}', ',', ':', '"', "'",
      '#', '|', '>', '---', '...', '%YAML 1.1', '~', 'yes', 'off', '0x1F', '1:30', '.inf', '2001-12-14', '=', '__proto__:', 'constructor:', '\t', '\u00a0', '\ufeff', '\r',
    );
    const line = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.array(fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 5 }));
    const docText = fc.array(line, { maxLength: 14 }).map((ls) => ls.map(([ind, ts]) => ' '.repeat(ind * 2) + ts.join(' ')).join('\n'));
    const files: Record<string, string> = { 'b.yml': 'MODEL:\n  NAME: resnet50\n', 'c/x.yml': '_BASE_: ../b.yml\n' };
    fc.assert(
      fc.property(fc.oneof(docText, fc.string({ maxLength: 200 })), (text) => {
        try {
          const r = importConfig(text, { path: 'x.yml', resolveBase: (p) => files[p] ?? (() => { throw new Error('ENOENT'); })() });
          expect(r.doc.graph).toBeTruthy();
          expect(Object.getPrototypeOf(r.doc)).toBe(Object.prototype);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(e.message).not.toMatch(/\n/);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 400, seed: 20261130 },
    );
  });
});
