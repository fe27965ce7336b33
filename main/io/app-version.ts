/** The app version, read where every host (CLI, browser-mode server, Electron shell) can import it. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The app version from the nearest package.json (app/package.json next to the bundle, or the root one); '0.0.0' when none reads. */
export function appVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        return (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0';
      } catch {
        return '0.0.0';
      }
    }
  }
  return '0.0.0';
}
