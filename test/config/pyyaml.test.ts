import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTrainingSettings } from '../../core/index.js';
import { ConfigError, importConfig, parseYacs, pyLiteral } from '../../core/config/index.js';
import { resolvePlain } from '../../core/config/pyyaml.js';

/**
 * Configs read as their owners read them: PyYAML `yaml.safe_load` (what yacs calls), then yacs
 * `_decode_cfg_value` (`ast.literal_eval` of string leaves). Every expected value is computed here by
 * /usr/bin/python3 with PyYAML and `ast`, never written down from our own output.
 */

const PY = '/usr/bin/python3';
const tmp = mkdtempSync(join(tmpdir(), 'reid-pyyaml-'));

/** Runs a Python snippet with `data` (JSON) on stdin; returns its JSON stdout. */
function python<T>(code: string, data: unknown): T {
  const out = execFileSync(PY, ['-c', code], { input: JSON.stringify(data), encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}

/** Python side: a value as JSON that keeps the types the comparison needs (floats as repr strings). */
const PY_ENCODE = `
import ast, datetime, json, math, sys, yaml
def enc(v):
    if isinstance(v, bool): return {'t': 'bool', 'v': v}
    if isinstance(v, int): return {'t': 'int', 'v': str(v)}
    if isinstance(v, float): return {'t': 'float', 'v': repr(v)}
    if isinstance(v, str): return {'t': 'str', 'v': v}
    if v is None: return {'t': 'null'}
    if isinstance(v, (list, tuple)): return {'t': 'list', 'v': [enc(x) for x in v]}
    if isinstance(v, dict) and all(isinstance(k, str) for k in v): return {'t': 'map', 'v': {k: enc(x) for k, x in v.items()}}
    return {'t': 'other', 'v': type(v).__name__}
def decode(v):
    # yacs CfgNode._decode_cfg_value
    if not isinstance(v, str): return v
    try: return ast.literal_eval(v)
    except (ValueError, SyntaxError): return v
`;

type Enc = { t: 'bool'; v: boolean } | { t: 'int' | 'float' | 'str'; v: string } | { t: 'null' } | { t: 'list'; v: Enc[] } | { t: 'map'; v: Record<string, Enc> } | { t: 'other'; v: string } | { t: 'error'; v: string };

/** The JS value our readers should give for a Python-encoded value (ints and floats both JS numbers). */
function jsOf(e: Enc): unknown {
  switch (e.t) {
    case 'bool':
      return e.v;
    case 'int':
      return Number(e.v);
    case 'float':
      return e.v === 'inf' ? Infinity : e.v === '-inf' ? -Infinity : e.v === 'nan' ? NaN : Number(e.v);
    case 'str':
      return e.v;
    case 'null':
      return null;
    case 'list':
      return e.v.map(jsOf);
    case 'map':
      return Object.fromEntries(Object.entries(e.v).map(([k, v]) => [k, jsOf(v)]));
    default:
      throw new Error(`no JS value for ${JSON.stringify(e)}`);
  }
}

describe('a repeated key keeps the last value, with a warning (case yaml-duplicate-keys)', () => {
  // reid-strong-baseline config edited by hand: the SOLVER block appears twice.
  const text = `MODEL:
  PRETRAIN_CHOICE: 'imagenet'
  NAME: 'resnet50'
  NECK: 'bnneck'
  IF_WITH_CENTER: 'no'
  METRIC_LOSS_TYPE: 'triplet'
  IF_LABELSMOOTH: 'on'
SOLVER:
  MAX_EPOCHS: 120
  BASE_LR: 0.00035
  STEPS: [40, 70]
INPUT:
  SIZE_TRAIN: [256, 128]
  SIZE_TEST: [256, 128]
DATASETS:
  NAMES: ('market1501')
DATALOADER:
  SAMPLER: 'softmax_triplet'
  NUM_INSTANCE: 4
SOLVER:
  MAX_EPOCHS: 60
  BASE_LR: 0.0007
  IMS_PER_BATCH: 64
TEST:
  NECK_FEAT: 'after'
  FEAT_NORM: 'yes'
`;
  const file = join(tmp, 'rsb_dup_block.yml');
  writeFileSync(file, text);

  it('parses to the block PyYAML keeps', () => {
    const solver = python<Enc>(`${PY_ENCODE}\nprint(json.dumps(enc(yaml.safe_load(open(${JSON.stringify(file)}))['SOLVER'])))`, null);
    expect(parseYacs(text).SOLVER).toEqual(jsOf(solver));
  });

  it('imports with the values yacs trains with (merged over RSB defaults.py) and says why', () => {
    const script = new URL('./yacs_merge.py', import.meta.url).pathname;
    const merged = JSON.parse(execFileSync(PY, [script, 'rsb', file], { encoding: 'utf8' }).trim()) as { ok: boolean; cfg: Record<string, Record<string, unknown>> };
    expect(merged.ok).toBe(true);
    const ref = merged.cfg;
    const r = importConfig(text, { path: file });
    const st = parseTrainingSettings(r.doc.training);
    if (!st.ok) throw new Error(st.message);
    const s = st.settings;
    expect(s.epochs).toBe(ref.SOLVER!.MAX_EPOCHS);
    expect(s.optimizer.baseLr).toBe(ref.SOLVER!.BASE_LR);
    expect(s.batch.p * s.batch.k).toBe(ref.SOLVER!.IMS_PER_BATCH);
    expect(s.batch.k).toBe(ref.DATALOADER!.NUM_INSTANCE);
    expect(s.schedule.steps).toEqual(ref.SOLVER!.STEPS); // the defaults' (30, 55): the second block has none
    expect(s.dataset.kind).toBe(ref.DATASETS!.NAMES);
    expect(r.warnings.filter((w) => /SOLVER appears more than once; .*only the last one counts/.test(w))).toHaveLength(1);
  });
});

describe('YAML 1.1 scalars as PyYAML SafeLoader resolves them', () => {
  const table = [
    // booleans: three casings of yes/no/true/false/on/off; y / n are strings
    'y', 'n', 'Y', 'yes', 'No', 'NO', 'on', 'On', 'ON', 'off', 'OFF', 'true', 'True', 'TRUE', 'tRue', 'false', 'yES',
    // ints: octal, hex, binary, separators, sexagesimal
    '0', '-0', '+1', '42', '0777', '08', '0o17', '0x1F', '-0x1f', '0b101', '-0b1', '1_000', '0_7', '190:20:30', '1:70', '-1:30',
    // floats: a dot is needed, exponents need a sign
    '1.0', '1.', '.5', '-.5', '+.5', '1e-4', '1.0e-4', '1.e+4', '1.0e4', '5e-4', '3.5E+2', '1_0.5', '1:30.5', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '0.00035',
    // null, strings, dates (refused), Python-looking strings that yacs literal_evals
    '~', 'null', 'Null', 'NULL', 'none', 'None', 'market1501', '50x', 'build_resnet_backbone', '(256, 128)', "('market1501')", '("Market1501",)',
    'True and False', '2001-12-14', '[0.5, 0.5]', '(1,)', '()', '0x', '- 1',
  ];

  it('resolve and construct plain scalars with the same type and value', () => {
    const ref = python<Enc[]>(
      `${PY_ENCODE}\nout = []\nfor s in json.load(sys.stdin):\n    try: out.append(enc(yaml.safe_load('k: ' + s)['k']))\n    except Exception as e: out.append({'t': 'error', 'v': type(e).__name__})\nprint(json.dumps(out))`,
      table,
    );
    table.forEach((s, i) => {
      const want = ref[i]!;
      if (want.t === 'other' || want.t === 'error') {
        expect(() => parseYacs(`k: ${s}\n`), `${s} → ${want.v}`).toThrow(ConfigError);
        return;
      }
      if (want.t === 'list' || want.t === 'map') return; // flow collections: not plain scalars (checked below)
      const got = resolvePlain(s);
      expect({ s, tag: got.tag }).toEqual({ s, tag: want.t });
      expect(got.value, s).toEqual(jsOf(want));
    });
  });

  it('a config value is what yacs holds after safe_load + literal_eval', () => {
    const values = table.filter((s) => s !== '2001-12-14' && !s.startsWith('- '));
    const ref = python<Enc[]>(`${PY_ENCODE}\nprint(json.dumps([enc(decode(yaml.safe_load('k: ' + s)['k'])) for s in json.load(sys.stdin)]))`, values);
    values.forEach((s, i) => {
      expect({ s, v: parseYacs(`k: ${s}\n`).k }).toEqual({ s, v: jsOf(ref[i]!) });
    });
  });

  it('quoted scalars stay strings for PyYAML and go through literal_eval; list elements do not', () => {
    const doc = `A: '1e-4'\nB: "yes"\nC: ['1', "2", 3]\nD: "(256, 128)"\nE: '0777'\nF: !!str 12\nG: !!float '3'\nH: !!int "0x10"\n`;
    const ref = python<Enc>(`${PY_ENCODE}\nd = yaml.safe_load(sys.stdin.read() and json.loads(${JSON.stringify(JSON.stringify(doc))}))\nprint(json.dumps(enc({k: decode(v) for k, v in d.items()})))`, null);
    expect(parseYacs(doc)).toEqual(jsOf(ref));
  });

  it('merge keys and anchors as PyYAML builds them', () => {
    const doc = `base: &b {A: 1, B: 2}\nother: &o {B: 3, C: 4}\nX:\n  <<: [*b, *o]\n  A: 9\nY:\n  <<: *o\n  D: *b\n`;
    const ref = python<Enc>(`${PY_ENCODE}\nprint(json.dumps(enc(yaml.safe_load(json.loads(${JSON.stringify(JSON.stringify(doc))})))))`, null);
    expect(parseYacs(doc)).toEqual(jsOf(ref));
  });
});

describe('Python literals as yacs literal_evals them', () => {
  const literals = [
    '(256, 128)', '[0.5, 0.5]', 'True', 'False', 'None', '1e-4', '5E-4', '1.', '.5', '-.5', '- 1', '-(1)', '--1', '+3', '-True',
    '0x10', '0o17', '0b11', '1_000', '00', '007', '0.5e-3', '1e999', '(1,)', '(1)', '()', '[]', '[1,]', '(,)', '256, 128', '1,',
    "'a' 'b'", "r'\\d+'", "u'x'", "b'x'", "f'x'", '"a\\tb\\x41\\u00e9\\101"', "'it''s'", '("CrossEntropyLoss", "TripletLoss",)',
    "('market1501')", 'market1501', '50x', '1j', '1+2j', "{'a': 1}", '{1, 2}', '...', '[1, [2, (3, 4)]]', '[1 # c\n, 2]', '1 # comment',
    ' 1', '1 ', '\t(1, 2)', 'True and False', 'not True', '1 + 1', '[1, 2][0]', 'x', "'unterminated", '1__0', '1_', '0_0',
  ];

  it('agrees with ast.literal_eval on a table of config-like strings', () => {
    const ref = python<Enc[]>(
      `${PY_ENCODE}\nout = []\nfor s in json.load(sys.stdin):\n    try: out.append(enc(ast.literal_eval(s)))\n    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError): out.append({'t': 'error', 'v': 'not a literal'})\nprint(json.dumps(out))`,
      literals,
    );
    literals.forEach((s, i) => {
      const want = ref[i]!;
      // Not a literal, or a kind no config key takes (dict, set, bytes, complex, Ellipsis): yacs-wise the string is kept.
      const expected = want.t === 'error' || want.t === 'other' || want.t === 'map' ? undefined : jsOf(want);
      expect({ s, v: pyLiteral(s) }).toEqual({ s, v: expected });
    });
  });

  it('agrees with ast.literal_eval on generated number and tuple texts', () => {
    const atom = fc.oneof(
      fc.stringMatching(/^[-+]?(0|[1-9][0-9_]{0,3}|0[xob][0-9a-f_]{1,3})$/),
      fc.stringMatching(/^[-+]?[0-9]{0,2}\.?[0-9]{0,2}([eE][-+]?[0-9]{1,2})?$/),
      fc.constantFrom('True', 'None', "'a'", '"b"', '()', '[]'),
    );
    const text = fc.oneof(atom, fc.array(atom, { maxLength: 3 }).map((a) => `(${a.join(', ')}${a.length === 1 ? ',' : ''})`), fc.array(atom, { maxLength: 3 }).map((a) => `[${a.join(',')}]`));
    const cases = fc.sample(text, { numRuns: 400, seed: 1234 });
    const ref = python<Enc[]>(
      `${PY_ENCODE}\nout = []\nfor s in json.load(sys.stdin):\n    try: out.append(enc(ast.literal_eval(s)))\n    except (ValueError, SyntaxError, TypeError): out.append({'t': 'error', 'v': ''})\nprint(json.dumps(out))`,
      cases,
    );
    cases.forEach((s, i) => {
      const want = ref[i]!;
      expect({ s, v: pyLiteral(s) }).toEqual({ s, v: want.t === 'error' || want.t === 'other' ? undefined : jsOf(want) });
    });
  });

  it('agrees with PyYAML on generated plain scalars', () => {
    const scalar = fc.stringMatching(/^[-+]?[0-9._:eExXbBoO]{1,8}$|^[yYnNoOtTfF][a-zA-Z]{0,4}$/).filter((s) => !/^[-:]( |$)/.test(s) && !s.includes(': ') && !s.endsWith(':'));
    const cases = fc.sample(scalar, { numRuns: 500, seed: 4321 });
    const ref = python<Enc[]>(
      `${PY_ENCODE}\nout = []\nfor s in json.load(sys.stdin):\n    try: out.append(enc(yaml.safe_load('k: ' + s)['k']))\n    except Exception as e: out.append({'t': 'error', 'v': type(e).__name__})\nprint(json.dumps(out))`,
      cases,
    );
    cases.forEach((s, i) => {
      const want = ref[i]!;
      if (want.t === 'error' || want.t === 'other') return expect(() => parseYacs(`k: ${s}\n`), s).toThrow();
      const got = resolvePlain(s);
      expect({ s, tag: got.tag, v: got.value }).toEqual({ s, tag: want.t, v: jsOf(want) });
    });
  });
});
