// Bundles the Node side (CLI, server, workers) into app/dist with esbuild. The renderer is built by Vite
// (scripts/build-renderer.mjs) when present. Packages stay external: they are installed from app/package.json.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

mkdirSync('app/dist', { recursive: true });
const entries = { cli: 'main/cli/main.ts' };
for (const [name, file] of Object.entries({ worker: 'main/training/worker.ts', server: 'main/hosts/server.ts' }))
  if (existsSync(file)) entries[name] = file;
await build({
  entryPoints: entries,
  outdir: 'app/dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
if (existsSync('scripts/build-renderer.mjs')) await import('./build-renderer.mjs');
