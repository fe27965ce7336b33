// Builds the renderer (React + React Flow) with Vite into app/dist/renderer. Imported by scripts/build.mjs.
// Several engineers and test runs build at once on this machine, so: skip the ~20 s Vite build when the
// inputs are unchanged (content hash stamp), and build into a temp folder that replaces the old one by
// rename, so a running browser-mode server never sees a half-written or empty renderer folder.
import { build } from 'vite';
import react from '@vitejs/plugin-react';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));
const root = join(repo, 'renderer');
const out = join(repo, 'app/dist/renderer');
const STAMP = '.build-stamp';
// The tab icon, linked from index.html as ./favicon.svg and served by both hosts like any renderer file.
const ICON = join(repo, 'assets/icon.svg');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.name === 'node_modules' || d.name.startsWith('.')) return [];
    return d.isDirectory() ? files(p) : [p];
  });
}

const hash = createHash('sha256');
for (const f of [...files(root), ...files(join(repo, 'core')), join(repo, 'package-lock.json'), ICON, fileURLToPath(import.meta.url)].sort()) {
  if (!existsSync(f) || !statSync(f).isFile()) continue;
  hash.update(f.slice(repo.length)).update('\0').update(readFileSync(f));
}
const stamp = hash.digest('hex');
const current = existsSync(join(out, STAMP)) ? readFileSync(join(out, STAMP), 'utf8') : '';

if (stamp !== current || process.env.REID_FORCE_RENDERER_BUILD) {
  const tmp = `${out}.tmp-${process.pid}`;
  await build({
    root,
    base: './',
    logLevel: 'warn',
    plugins: [react()],
    build: { outDir: tmp, emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 4000 },
  });
  copyFileSync(ICON, join(tmp, 'favicon.svg'));
  writeFileSync(join(tmp, STAMP), stamp);
  const old = `${out}.old-${process.pid}`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(tmp, out);
  rmSync(old, { recursive: true, force: true });
}
