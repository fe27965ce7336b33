import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Locates a worker-thread entry both when running from the esbuild bundle (app/dist/<name>.js, an extra
 * entry in scripts/build.mjs) and from TypeScript sources under vitest/tsx. For sources, a worker
 * `execArgv: ['--import', 'tsx']` is not honoured by Node 20's worker threads (measured: "Unknown file
 * extension .ts"), so the worker starts from a data: URL that registers tsx's ESM hooks in the worker and
 * then imports the .ts entry.
 */
export function workerEntry(bundleName: string, sourceUrl: URL): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.js')) {
    const bundled = new URL(`./${bundleName}.js`, here);
    if (existsSync(fileURLToPath(bundled))) return { url: bundled, execArgv: [] };
  }
  const tsxDir = dirname(createRequire(here).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const boot = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(sourceUrl.href)});`;
  return { url: new URL('data:text/javascript,' + encodeURIComponent(boot)), execArgv: [] };
}
