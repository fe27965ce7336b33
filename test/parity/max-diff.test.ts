import { describe, expect, it } from 'vitest';
import { maxDiff } from './fixtures.js';
import { within } from './train-check.js';

/**
 * The parity tests' distance (fixtures.ts maxDiff) and bound (train-check.ts within): a NaN anywhere in the
 * compared values is a failure, wherever it sits (a later finite difference must not hide it).
 */
describe('parity distances report a NaN wherever it is', () => {
  it('maxDiff: a NaN first, in the middle or last gives NaN; finite values give the largest |a − b| and max |b|', () => {
    expect(maxDiff([0.5, 1, 3], [0, 2, 1])).toEqual({ diff: 2, ref: 2 });
    for (const a of [[NaN, 0.5, 0.1], [0.1, NaN, 0.5], [0.1, 0.5, NaN]]) expect(maxDiff(a, [0, 0, 0]).diff, JSON.stringify(a)).toBeNaN();
  });

  it('within: values with a NaN before larger finite ones are outside any bound', () => {
    expect(within([1, 2 + 1e-6], [1, 2], [1, 2], 1e-3).ok).toBe(true);
    expect(within([NaN, 2 + 1e-6], [1, 2], [1, 2], 1e-3).ok).toBe(false);
  });
});
