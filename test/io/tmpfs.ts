import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/**
 * A real small file system for full-disk tests: a tmpfs of `size` (mount(8) syntax, e.g. `1m`) mounted on a
 * new folder `dir` (needs root, as CI runs). Returns the unmount to call in afterAll.
 */
export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return () => void spawnSync('umount', [dir]);
}
