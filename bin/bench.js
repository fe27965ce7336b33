#!/usr/bin/env node
// `npm run bench [-- NAME…]`: runs the benchmarks in bench/*.ts one after another (they measure ratios
// side by side within one run, because this machine is shared and noisy). Not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../bench/', import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => /\.(ts|mts)$/.test(f) && !f.startsWith('_')).sort();
const files = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
if (!files.length) {
  console.error(`no benchmark matches ${wanted.join(', ')}; available: ${all.join(', ')}`);
  process.exitCode = 2;
}
let failed = 0;
for (const f of files.length ? files : []) {
  console.log(`\n=== bench/${f} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${f}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
if (files.length) process.exitCode = failed ? 1 : 0;
