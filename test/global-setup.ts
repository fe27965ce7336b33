import { execFileSync } from 'node:child_process';

/** Builds the bundles once so CLI tests exercise exactly what `npx reid-studio` runs. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
