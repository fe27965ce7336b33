/**
 * Progress of long commands on stderr (stdout stays the command's result): a redrawn bar on a terminal,
 * plain lines otherwise (logs, CI), or `--progress json` — one JSON object per line for scripts and other
 * tools: `{"type":"progress","phase":"query","done":48,"total":3368,"unit":"images","elapsed":12.5}`.
 */
import { CliError } from './errors.js';

export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export const PROGRESS_OPTION = { progress: { type: 'string' } } as const;

export function parseProgressMode(v: string | undefined): ProgressMode {
  if (v === undefined) return 'auto';
  if (!(PROGRESS_MODES as readonly string[]).includes(v)) throw new CliError(`--progress must be one of ${PROGRESS_MODES.join(', ')} (got "${v}")`);
  return v as ProgressMode;
}

export interface Progress {
  /** `done` of `total` units of `phase` are finished (call as often as you like: output is throttled). */
  update(phase: string, done: number, total: number, unit?: string): void;
  /** A structured event other than progress (JSON mode prints it; the other modes print `text` if given). */
  event(obj: Record<string, unknown>, text?: string): void;
  /** Ends a bar line. */
  end(): void;
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/**
 * A progress printer for `mode` on `stream`. Lines mode prints at most one line per phase every 10 % (and
 * the last), a bar redraws at most 10 times a second, JSON prints every update at most 4 times a second
 * per phase plus the first and last.
 */
export function progressReporter(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const resolved: Exclude<ProgressMode, 'auto'> = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  const t0 = now();
  let barOpen = false;
  const last = new Map<string, { t: number; decile: number }>();
  const elapsed = () => (now() - t0) / 1000;
  return {
    update(phase, done, total, unit = 'images') {
      if (resolved === 'none') return;
      const prev = last.get(phase);
      const t = now();
      const final = done >= total;
      const first = !prev;
      if (resolved === 'json') {
        if (!first && !final && t - prev.t < 250) return;
        last.set(phase, { t, decile: 0 });
        stream.write(JSON.stringify({ type: 'progress', phase, done, total, unit, elapsed: Math.round(elapsed() * 10) / 10 }) + '\n');
        return;
      }
      const start = prev?.t ?? t;
      const rate = done / Math.max(1e-3, elapsed());
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const text = `${phase} ${done}/${total} ${unit}  ${rate.toFixed(1)} ${unit}/s  ETA ${fmtSeconds(eta)}`;
      if (resolved === 'bar') {
        if (!first && !final && t - start < 100) return;
        last.set(phase, { t, decile: 0 });
        const width = 20;
        const filled = total > 0 ? Math.round((done / total) * width) : width;
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
        barOpen = true;
        if (final) {
          stream.write('\n');
          barOpen = false;
        }
        return;
      }
      const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (!first && !final && decile <= prev.decile) return;
      if (prev && final && prev.decile === 10) return;
      last.set(phase, { t, decile: final ? 10 : decile });
      stream.write(text + '\n');
    },
    event(obj, text) {
      if (resolved === 'none') return;
      if (resolved === 'json') return void stream.write(JSON.stringify(obj) + '\n');
      if (barOpen) {
        stream.write('\n');
        barOpen = false;
      }
      if (text) stream.write(text + '\n');
    },
    end() {
      if (barOpen) stream.write('\n');
      barOpen = false;
    },
  };
}
