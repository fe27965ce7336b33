import { describe, expect, it } from 'vitest';
import { getKind, presetProblem } from '../../core/index.js';

/**
 * "New from preset" checks its options with the editor's own graph check (tryout finding: Input H×W 0x0 or
 * 100000x100000 and Classes 1e12 were accepted, and only the editor complained later).
 */
describe('preset dialog options (core/presets/choose.ts presetProblem)', () => {
  const input = getKind('input')!.params;
  const classes = getKind('linear')!.params.units!;

  it('refuses input sizes and class counts outside the bounds the editor enforces', () => {
    expect(presetProblem('resnet50', { input: [0, 0] })).toBe('input height must be at least 8; width must be at least 8');
    expect(presetProblem('resnet50', { input: [100000, 100000] })).toBe('input height must be at most 2048; width must be at most 2048');
    expect(presetProblem('resnet50_ibn_a', { numClasses: 1e12 })).toBe('classes must be at most 1000000');
    expect(presetProblem('mgn_R50', { numClasses: 1e12 })).toBe('classes must be at most 1000000');
    expect(presetProblem('se_resnet50', { input: [256, 4096] })).toBe('input width must be at most 2048');
  });

  it('accepts the bounds themselves (the registry’s input and classifier specs)', () => {
    const [lo, hi] = [input.height as { min: number; max: number }, input.width as { min: number; max: number }];
    expect(presetProblem('resnet18', { input: [lo.min, hi.min] })).toBeNull();
    expect(presetProblem('resnet18', { input: [lo.max, hi.max], numClasses: (classes as { max: number }).max })).toBeNull();
    expect(presetProblem('resnet18', { input: [lo.min - 1, 128] })).toMatch(/^input height must be at least/);
    expect(presetProblem('resnet50', {})).toBeNull();
  });

  it('reports a shape problem of the built graph (MGN’s stripe cuts) with the preset and size', () => {
    expect(presetProblem('mgn_R50', { input: [8, 8] })).toMatch(/^mgn_R50 at 8×8: .*torch\.chunk/);
    expect(presetProblem('mgn_R50', { input: [384, 128] })).toBeNull();
  });
});
