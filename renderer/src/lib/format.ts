import type { Shape } from '../../../core/index.js';

export const fmtInt = (n: number) => n.toLocaleString('en-US');

/** Compact parameter count for node cards: 1.54M, 23.5K. */
export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export const fmtShape = (s: Shape | undefined) => (s ? (s.length === 3 ? `${s[0]}×${s[1]}×${s[2]}` : `[${s.join(', ')}]`) : '–');

export const fmtMacs = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);

export const NORM_LABEL: Record<string, string> = { bn: 'BN', ibn_a: 'IBN-a', in: 'IN', batch_norm: 'BN', instance_norm: 'IN' };

/**
 * A camera as the file names write it: the dataset readers keep camera ids 0-based, as reid-strong-baseline's
 * and fast-reid's do (`c1` in `0002_c1s1_…jpg` → 0), so the label adds the 1 back ("cam 1").
 */
export function fmtCam(camid: number): string {
  return `cam ${camid + 1}`;
}
