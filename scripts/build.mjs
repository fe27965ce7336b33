// Bundles the Node side (CLI, server, workers) into app/dist with esbuild. The renderer is built by Vite
// (scripts/build-renderer.mjs) when present. Native and wasm packages stay external: they are installed from app/package.json.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

mkdirSync('app/dist', { recursive: true });
// Chunk names carry a content hash: drop the previous build's, so no stale chunk is packaged.
for (const f of readdirSync('app/dist')) if (/^chunk-[A-Z0-9]+\.js(\.map)?$/.test(f)) rmSync(`app/dist/${f}`);
const entries = { cli: 'main/cli/main.ts' };
for (const [name, file] of Object.entries({ worker: 'main/runs/worker.ts', server: 'main/hosts/server.ts' }))
  if (existsSync(file)) entries[name] = file;
// Worker-thread entries of the data pipeline and the evaluation (resolved via main/training/data/worker-url.ts).
Object.assign(entries, { 'demo-worker': 'main/training/data/demo-worker.ts', 'data-worker': 'main/training/data/worker.ts', 'eval-worker': 'main/training/eval/distance-worker.ts', 'weights-worker': 'main/service/weights-worker.ts', 'projection-worker': 'main/training/eval/projection-worker.ts' });
await build({
  entryPoints: entries,
  outdir: 'app/dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Split at dynamic imports (shared code goes to app/dist/chunk-*.js): the CLI loads a command's module,
  // and through it the engines, only when that command runs, so `reid-studio --version` / `--help` start
  // in tens of milliseconds (bench/cli.ts) instead of loading TensorFlow.js, sharp and the service first.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  // Pure-JS packages (zod, immer, yaml, ws) are bundled in, so the packaged app needs only the native /
  // wasm runtime dependencies listed in app/package.json.
  external: ['electron', 'sharp', '@tensorflow/*', 'onnxruntime-node'],
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
// The Electron shell: main process (ESM) and the sandboxed preload (must be one CommonJS file).
// Pure-JS packages are bundled in; native / wasm ones stay external and come from app/package.json.
if (existsSync('main/hosts/electron/main.ts')) {
  const shell = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', external: ['electron', 'sharp', '@tensorflow/*', 'onnxruntime-node'] };
  await build({ ...shell, entryPoints: { 'electron-main': 'main/hosts/electron/main.ts' }, outdir: 'app/dist', format: 'esm', banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  await build({ ...shell, entryPoints: ['main/hosts/electron/preload.ts'], outfile: 'app/dist/preload.cjs', format: 'cjs' });
}
// The standalone custom-layer files shipped with `export --format tfjs` (main/export/layers-bundle.ts).
await (await import('../main/export/build-layers.mjs')).buildLayers(await import('esbuild'), 'app/dist');
if (existsSync('scripts/build-renderer.mjs')) await import('./build-renderer.mjs');
