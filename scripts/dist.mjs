// `npm run dist`: builds the installer(s) for the current OS with electron-builder.
//   --dir                 unpacked app only (no installer), e.g. to inspect app.asar
//   --arch ARCH           x64 or arm64 (default: this machine's). The app's runtime dependencies are installed
//                         for that architecture (npm's --cpu); Electron for another architecture than this
//                         machine's is downloaded by electron-builder (needs internet access)
//   --electron-dist DIR   an unpacked Electron to package with (default: node_modules/electron/dist)
//   --output DIR          where to write (default: dist/installers)
//   --unsigned            no signing identity: macOS builds are signed ad hoc (an Apple Silicon Mac runs no
//                         unsigned code, and flipping Electron's fuses breaks Electron's own signature), without
//                         the hardened runtime and without notarisation; Windows builds stay unsigned
//   --stand-in            the Electron given is a stand-in executable without a fuse wire (CI inspection of what
//                         would ship): Electron fuses cannot be flipped in it, so that one step is skipped
// Electron's binary is downloaded by its npm install script; where that download is impossible the
// command says so instead of failing deep inside electron-builder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { parseArgs } from 'node:util';
import { builderConfig } from './builder-config.mjs';

const { values } = parseArgs({
  options: { dir: { type: 'boolean' }, arch: { type: 'string' }, 'electron-dist': { type: 'string' }, output: { type: 'string' }, unsigned: { type: 'boolean' }, 'stand-in': { type: 'boolean' } },
});
const arch = values.arch ?? process.arch;
if (!['x64', 'arm64'].includes(arch)) {
  console.error(`reid-studio dist: --arch must be x64 or arm64, not ${arch}`);
  process.exit(2);
}
const root = JSON.parse(readFileSync('package.json', 'utf8'));
const electronVersion = root.optionalDependencies.electron;
// node_modules/electron holds Electron for this machine's architecture; another one is electron-builder's to fetch.
const electronDist = values['electron-dist'] ? resolve(values['electron-dist']) : arch === process.arch ? resolve('node_modules/electron/dist') : null;
const exe = { darwin: 'Electron.app', win32: 'electron.exe' }[process.platform] ?? 'electron';
if (electronDist && !existsSync(resolve(electronDist, exe))) {
  console.error(
    `reid-studio dist: Electron's binary is not available (${resolve(electronDist, exe)} is missing).\n` +
      'It is downloaded by the electron package at install time, and that download did not happen on this machine\n' +
      '(no internet access to its release host, or the optional dependency was skipped).\n' +
      'On a machine with internet access run: npm install && npm run dist\n' +
      'To check what would ship without Electron: npm run dist -- --dir --electron-dist <folder with an electron executable>',
  );
  process.exit(1);
}
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', ...opts });
run(process.execPath, ['scripts/build.mjs']);
if (!existsSync('assets/icon.png')) run(process.execPath, ['scripts/icons.mjs']);
// The runtime dependencies of the packaged app (app/package.json) — never the dev tooling — with the native
// packages (sharp's libvips, onnxruntime) for the target architecture. ONNXRUNTIME_NODE_INSTALL=skip (its
// install script's variable; not an .npmrc key, which npm 11 warns about) skips onnxruntime's CUDA download:
// the app creates CPU sessions only (README, "What runs where").
// npm is npm.cmd on Windows, which Node runs only through a shell.
run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', `--cpu=${arch}`, `--os=${process.platform}`], { cwd: 'app', shell: process.platform === 'win32', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
const platform = { darwin: '--mac', win32: '--win' }[process.platform] ?? '--linux';
let config = 'electron-builder.yml';
if (values['stand-in'] || values.unsigned) {
  config = join(mkdtempSync(join(tmpdir(), 'reid-builder-')), 'electron-builder.yml');
  writeFileSync(config, YAML.stringify(builderConfig({ standIn: values['stand-in'], unsigned: values.unsigned })));
}
const args = ['node_modules/electron-builder/cli.js', platform, `--${arch}`, ...(values.dir ? ['--dir'] : []), '--config', config, `-c.directories.app=${resolve('app')}`, `-c.directories.buildResources=${resolve('assets')}`, `-c.electronVersion=${electronVersion}`];
if (electronDist) args.push(`-c.electronDist=${electronDist}`);
if (values.output) args.push(`-c.directories.output=${resolve(values.output)}`);
run(process.execPath, args);
