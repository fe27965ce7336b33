// The unit tests the release workflow runs on Linux, Windows and macOS before packaging: the pure, fast
// suites that need neither Debian's PyTorch (the parity oracle), nor Chromium (the browser-mode e2e suites),
// nor the field cases beside the checkout, nor POSIX-only files (FIFOs). The full suite runs in the project's
// own CI (.ci/run) on Linux with those installed.
//   npx tsx scripts/release/unit-tests.ts [--list]   runs them with vitest (or lists them)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isMain, ROOT } from './common.js';

/** Folders of test/ whose suites are meant to be pure (no external programs); each file is still screened. */
export const RELEASE_TEST_DIRS = ['test/core', 'test/editor', 'test/training-ui', 'test/electron', 'test/packaging'];

/** What a test (or a test helper it imports) mentions when it needs something the release runners lack. */
export const NEEDS_MORE = /python|launchBrowser|chromium|shared\/cases|mkfifo|scripts\/dist\.mjs/i;

/** The test helpers a file imports, relative imports inside test/ only (app code under core/, main/ is what is tested). */
function testImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
    if (target.startsWith(join(ROOT, 'test')) && existsSync(target)) out.push(target);
  }
  return out;
}

/** True when the file, or a test helper it imports (transitively), needs more than Node and the npm packages. */
export function needsMore(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  if (NEEDS_MORE.test(readFileSync(file, 'utf8'))) return true;
  return testImports(file).some((f) => needsMore(f, seen));
}

/** The release workflow's unit tests, as paths relative to the repository (forward slashes). */
export function releaseUnitTests(): string[] {
  return RELEASE_TEST_DIRS.flatMap((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => join(ROOT, d, f))
      .filter((f) => !needsMore(f))
      .map((f) => relative(ROOT, f).replace(/\\/g, '/')),
  ).sort();
}

if (isMain(import.meta.url)) {
  const files = releaseUnitTests();
  if (process.argv.includes('--list')) console.log(files.join('\n'));
  else {
    console.log(`release unit tests (${files.length} files): ${files.join(' ')}`);
    const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...files], { stdio: 'inherit', cwd: ROOT });
    process.exit(r.status ?? 1);
  }
}
