import { describe, expect, it } from 'vitest';
import { buildPreset } from '../../core/index.js';
import { exportRsbYaml } from '../../core/config/index.js';

/**
 * `export --format rsb-yaml` tells the user which ImageNet weights MODEL.PRETRAIN_PATH wants (tryout finding: a
 * resnet18 export suggested torchvision's resnet50-19c8e357.pth). The expected names are the outside references:
 * torchvision's model_urls before 0.13 (download.pytorch.org/models/<name>-<hash>.pth, the names in
 * reid-strong-baseline's configs and resnet_ibn_a.py) and reid-strong-baseline's modeling/backbones/senet.py urls.
 */
const hint = (preset: string): string => {
  const r = exportRsbYaml(buildPreset(preset));
  if (!r.ok) throw new Error(r.reasons.join('; '));
  const w = r.warnings.find((x) => x.startsWith('MODEL.PRETRAIN_PATH is empty'));
  if (!w) throw new Error(`no PRETRAIN_PATH note for ${preset}: ${r.warnings.join(' | ')}`);
  return w;
};

describe('rsb-yaml export: the PRETRAIN_PATH example is the model’s own backbone', () => {
  it.each([
    ['resnet18', 'resnet18-5c106cde.pth'],
    ['resnet34', 'resnet34-333f7ec4.pth'],
    ['resnet50', 'resnet50-19c8e357.pth'],
    ['resnet101', 'resnet101-5d3b4d8f.pth'],
    ['resnet152', 'resnet152-b121ed2d.pth'],
    ['se_resnet50', 'se_resnet50-ce0d4300.pth'],
    ['se_resnext101_32x4d', 'se_resnext101_32x4d-3b2fe3d8.pth'],
    ['senet154', 'senet154-c7b49a05.pth'],
  ])('%s → %s', (preset, file) => {
    const w = hint(preset);
    expect(w).toContain(`(e.g. ${preset.startsWith('se') ? '' : 'torchvision '}${file})`);
    expect(w.match(/\w+-[0-9a-f]{8}\.pth/g)).toEqual([file]);
  });

  it('resnet50_ibn_a names no torchvision file (its weights are IBN-Net’s)', () => {
    const w = hint('resnet50_ibn_a');
    expect(w).not.toMatch(/\.pth/);
    expect(w).toMatch(/IBN-Net/);
  });
});
