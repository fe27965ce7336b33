// Type-checks the Electron shell (main process + preload) and the real-window tests against Electron's own typings.
// Electron is an optional dependency whose install script downloads its binary; where that download is
// impossible npm drops the package, typings included. The typings alone are a plain file in the npm
// tarball, so fetch that (npm registry only) into node_modules/.cache when the package is absent.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const version = JSON.parse(readFileSync('package.json', 'utf8')).optionalDependencies.electron;
const cacheDir = 'node_modules/.cache/electron-types';
const target = join(cacheDir, 'electron.d.ts');
const stamp = join(cacheDir, 'version');
mkdirSync(cacheDir, { recursive: true });
const cached = existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === version;
if (!cached) {
  if (existsSync('node_modules/electron/electron.d.ts')) copyFileSync('node_modules/electron/electron.d.ts', target);
  else {
    const tmp = mkdtempSync(join(tmpdir(), 'electron-types-'));
    execFileSync('npm', ['pack', `electron@${version}`, '--silent', '--pack-destination', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['-xzf', join(tmp, `electron-${version}.tgz`), '-C', tmp, 'package/electron.d.ts']);
    copyFileSync(join(tmp, 'package/electron.d.ts'), target);
    rmSync(tmp, { recursive: true, force: true });
  }
  execFileSync('sh', ['-c', `printf %s '${version}' > '${stamp}'`]);
}
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'main/hosts/electron/tsconfig.json'], { stdio: 'inherit' });
// The real-window tests (the release smoke test among them) drive Electron's main process: same typings.
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/electron/tsconfig.json'], { stdio: 'inherit' });
console.log(`electron shell and test/electron/*.electron.ts type-check against electron@${version} typings`);
