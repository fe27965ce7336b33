import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, importConfig, pyLiteral, resolveRelative } from '../../core/config/index.js';

/** Bad input gets a ConfigError with a message naming the problem; never another exception. */
const fails = (text: string, re: RegExp, opts: Parameters<typeof importConfig>[1] = {}) => {
  let err: unknown;
  try {
    importConfig(text, opts);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(re);
};

describe('importConfig: bad input', () => {
  it('malformed or empty YAML, or not a mapping', () => {
    fails('MODEL:\n  NAME: [resnet50\n', /is not valid YAML/);
    fails('', /is empty/);
    fails('- a\n- b\n', /not a YAML mapping/);
    // A repeated key is not an error for PyYAML: the last value counts (here an unknown MODEL.NAME 'b').
    fails('MODEL:\n  NAME: a\n  NAME: b\n', /unknown MODEL.NAME 'b'/);
    // PyYAML safe_load (what yacs uses) has no constructor for Python tags.
    fails('MODEL:\n  NAME: !!python/tuple [a, b]\n', /not valid YAML for yacs \(it loads with yaml\.safe_load\): Unresolved tag/);
  });

  it("a config of keys both frameworks have is not said to belong to neither (yacs defaults: merged.json)", () => {
    const defaults = (JSON.parse(readFileSync(new URL('../fixtures/frameworks/configs/merged.json', import.meta.url), 'utf8')) as { defaults: Record<'rsb' | 'fastreid', { INPUT: Record<string, unknown>; SOLVER: Record<string, unknown> }> }).defaults;
    expect(['SIZE_TRAIN' in defaults.rsb.INPUT, 'SIZE_TRAIN' in defaults.fastreid.INPUT, 'BASE_LR' in defaults.rsb.SOLVER, 'BASE_LR' in defaults.fastreid.SOLVER]).toEqual([true, true, true, true]);
    const shared = 'INPUT:\n  SIZE_TRAIN: [256, 128]\nSOLVER:\n  BASE_LR: 0.00035\n';
    fails(shared, /none of its keys \(INPUT\.SIZE_TRAIN, SOLVER\.BASE_LR\) is one that only one of them has \(add MODEL\.NAME for reid-strong-baseline or MODEL\.META_ARCHITECTURE for fast-reid\)/);
    let message = '';
    try {
      importConfig(shared);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toMatch(/belong to either/);
  });

  it('unknown or unmodelled MODEL.NAME', () => {
    fails("MODEL:\n  NAME: 'resnet51'\n", /unknown MODEL.NAME 'resnet51' \(reid-strong-baseline accepts resnet18, .*resnet50_ibn_a/);
    // RSB's SENet names import (test/config/preset-names.test.ts); one its baseline.py does not build is unknown.
    fails("MODEL:\n  NAME: 'se_resnext26'\n", /unknown MODEL.NAME 'se_resnext26' \(reid-strong-baseline accepts .*se_resnext50, se_resnext101, senet154/);
    fails("MODEL:\n  NAME: 'resnet101_ibn_a'\n", /unknown MODEL.NAME 'resnet101_ibn_a'/);
  });

  it('a config of another framework (torchreid / mmcv style), or a mix of both', () => {
    fails('model:\n  name: osnet_x1_0\ndata:\n  sources: [market1501]\n', /not a reid-strong-baseline or fast-reid config: none of its keys \(model\.name, data\.sources\)/);
    fails("MODEL:\n  NAME: 'resnet50'\n  BACKBONE:\n    DEPTH: 50x\n", /mixes reid-strong-baseline keys \(MODEL\.NAME\) and fast-reid keys \(MODEL\.BACKBONE\.DEPTH\)/);
  });

  it('values of the wrong type or out of range', () => {
    fails("MODEL:\n  NAME: 'resnet50'\n  LAST_STRIDE: 3\n", /MODEL.LAST_STRIDE must be 1 or 2 \(got 3\)/);
    fails("MODEL:\n  NECK: 'bn'\n", /MODEL.NECK must be one of 'bnneck', 'no' \(got "bn"\)/);
    fails("MODEL:\n  NAME: 'resnet50'\nINPUT:\n  SIZE_TRAIN: [256]\n", /INPUT.SIZE_TRAIN must be a list of 2 whole numbers/);
    fails("MODEL:\n  NAME: 'resnet50'\nINPUT:\n  SIZE_TRAIN: [4000, 128]\n", /image sides up to 2048/);
    fails("MODEL:\n  NAME: 'resnet50'\nSOLVER:\n  IMS_PER_BATCH: 64\nDATALOADER:\n  NUM_INSTANCE: 128\n", /invalid training setting batch\.k/);
    fails("MODEL:\n  NAME: 'resnet50'\nSOLVER:\n  BASE_LR: fast\n", /SOLVER.BASE_LR must be a number \(got "fast"\)/);
    fails("MODEL:\n  NAME: 'resnet50'\nSOLVER:\n  BASE_LR: -1.0\n", /invalid training setting optimizer\.baseLr/);
  });

  it('fast-reid structures the app does not model', () => {
    fails('MODEL:\n  BACKBONE:\n    NAME: build_osnet_backbone\n', /build_osnet_backbone' is not modelled/);
    fails('MODEL:\n  BACKBONE:\n    DEPTH: 152x\n', /'152x' is not a fast-reid ResNet depth/);
    fails('MODEL:\n  HEADS:\n    CLS_LAYER: AMSoftmax\n', /CLS_LAYER 'AMSoftmax' is not a fast-reid classification layer \(Linear, CircleSoftmax, ArcSoftmax, CosSoftmax\)/);
    fails('MODEL:\n  LOSSES:\n    NAME: ("CrossEntropyLoss", "CircleLoss")\n', /CircleLoss: only CrossEntropyLoss and TripletLoss are modelled/);
    fails('MODEL:\n  HEADS:\n    POOL_LAYER: Identity\n', /POOL_LAYER 'Identity' is not modelled/);
  });

  it('_BASE_ without a reader, unreadable, or cyclic', () => {
    fails('_BASE_: ../Base-bagtricks.yml\n', /inherits from \.\.\/Base-bagtricks\.yml \(_BASE_\), which cannot be read here/);
    fails('_BASE_: base.yml\n', /cannot read _BASE_ cfg\/base\.yml \(from cfg\/a\.yml\): ENOENT/, {
      path: 'cfg/a.yml',
      resolveBase: () => {
        throw new Error('ENOENT');
      },
    });
    const files: Record<string, string> = { 'cfg/a.yml': '_BASE_: b.yml\n', 'cfg/b.yml': '_BASE_: a.yml\n' };
    fails(files['cfg/a.yml']!, /_BASE_ cycle: cfg\/a\.yml → cfg\/b\.yml → cfg\/a\.yml/, { path: 'cfg/a.yml', resolveBase: (p) => files[p]! });
  });
});

describe('YACS value decoding and paths', () => {
  it('literal_eval as yacs applies it', () => {
    expect(pyLiteral("('market1501')")).toBe('market1501');
    expect(pyLiteral('("CrossEntropyLoss", "TripletLoss",)')).toEqual(['CrossEntropyLoss', 'TripletLoss']);
    expect(pyLiteral('("Market1501",)')).toEqual(['Market1501']);
    expect(pyLiteral('[40, 70]')).toEqual([40, 70]);
    expect(pyLiteral('5e-4')).toBe(0.0005);
    expect(pyLiteral('True')).toBe(true);
    expect(pyLiteral('build_resnet_backbone')).toBeUndefined();
    expect(pyLiteral('50x')).toBeUndefined();
  });

  it('an unquoted yes/no/on/off is read (PyYAML makes it a boolean) but flagged: yacs would reject it', () => {
    const r = importConfig("MODEL:\n  NAME: 'resnet50'\n  IF_WITH_CENTER: yes\n  METRIC_LOSS_TYPE: 'center'\n  IF_LABELSMOOTH: off\n");
    expect(r.warnings.filter((w) => /PyYAML reads as a boolean/.test(w))).toHaveLength(2);
    expect(r.doc.training).toMatchObject({ loss: { metric: 'center', labelSmooth: false } });
  });

  it('_BASE_ resolves against the including file, like os.path.join(dirname(file), base)', () => {
    expect(resolveRelative('configs/Market1501/bagtricks_R50-ibn.yml', '../Base-bagtricks.yml')).toBe('configs/Base-bagtricks.yml');
    expect(resolveRelative('/a/b/c.yml', './d.yml')).toBe('/a/b/d.yml');
    expect(resolveRelative('/a/b/c.yml', '/x/y.yml')).toBe('/x/y.yml');
    expect(resolveRelative('C:\\cfg\\a.yml', '..\\base.yml')).toBe('C:/base.yml');
  });
});
