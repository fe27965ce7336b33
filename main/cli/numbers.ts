import { CliError } from './errors.js';

/**
 * A whole number given on the command line: decimal digits only (`0x10`, `1e3`, `16.0` and `" 5"` are
 * refused rather than read as JavaScript's Number() would), within [min, max] and exact (at most
 * 2^53 − 1: a larger seed would be silently rounded). Throws CliError naming the flag.
 */
export function parseWholeNumber(flag: string, s: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new CliError(`--${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`} written in decimal digits (got "${s}")`);
  return n;
}

/** A decimal number (`0.01`, `3.5e-4`; no hex, no `Infinity`), or NaN when `s` is not one. */
export function parseDecimal(s: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
}

/**
 * `--flag -1` → `--flag=-1`: Node's parseArgs reads a value starting with "-" as another option and
 * answers "argument is ambiguous"; a negative number after a flag is its value (then refused or accepted
 * by the flag's own check, with its own message).
 */
export function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z][a-z0-9-]*$/.test(a) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
