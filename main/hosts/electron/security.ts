/**
 * Security policy of the Electron shell (Electron's security checklist is the bar): a strict CSP, no
 * navigation away from the app, no new windows, permissions denied, and external links only to an
 * allow-list. Pure functions so tests can exercise the policy without Electron.
 */
import { APP_ORIGIN } from './ipc.js';

/** React Flow positions nodes with inline styles, hence style-src 'unsafe-inline'; scripts are strictly 'self'. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** Hosts the app may open in the user's browser (documentation, papers, issue trackers). */
export const EXTERNAL_ALLOW_LIST = ['github.com', 'arxiv.org', 'js.tensorflow.org', 'www.tensorflow.org', 'pytorch.org'];

export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

export function isAllowedExternal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && !u.username && !u.password && EXTERNAL_ALLOW_LIST.includes(u.hostname);
  } catch {
    return false;
  }
}


/** A file the OS asked us to open (double-click, second launch): a graph document by extension. */
export function documentArg(argv: readonly string[]): string | undefined {
  return argv.slice(1).find((a) => !a.startsWith('-') && /\.(reidgraph|json)$/i.test(a));
}
