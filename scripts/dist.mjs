// `npm run dist`: builds the installer(s) for the current OS with electron-builder.
//   --dir                 unpacked app only (no installer), e.g. to inspect app.asar
//   --electron-dist DIR   an unpacked Electron to package with (default: node_modules/electron/dist)
//   --output DIR          where to write (default: dist/installers)
//   --stand-in            the Electron given is a stand-in executable (CI inspection of what would ship):
//                         Electron fuses cannot be flipped in it, so that one step is skipped
// Electron's binary is downloaded by its npm install script; where that download is impossible the
// command says so instead of failing deep inside electron-builder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'boolean' }, 'electron-dist': { type: 'string' }, output: { type: 'string' }, 'stand-in': { type: 'boolean' } } });
const root = JSON.parse(readFileSync('package.json', 'utf8'));
const electronVersion = root.optionalDependencies.electron;
const electronDist = resolve(values['electron-dist'] ?? 'node_modules/electron/dist');
const exe = { darwin: 'Electron.app', win32: 'electron.exe' }[process.platform] ?? 'electron';
if (!existsSync(resolve(electronDist, exe))) {
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
// The runtime dependencies of the packaged app (app/package.json) — never the dev tooling.
run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: 'app' });
const platform = { darwin: '--mac', win32: '--win' }[process.platform] ?? '--linux';
let config = 'electron-builder.yml';
if (values['stand-in']) {
  const doc = YAML.parse(readFileSync(config, 'utf8'));
  delete doc.electronFuses;
  config = join(mkdtempSync(join(tmpdir(), 'reid-builder-')), 'electron-builder.yml');
  writeFileSync(config, YAML.stringify(doc));
}
const args = ['node_modules/electron-builder/cli.js', platform, ...(values.dir ? ['--dir'] : []), '--config', config, `-c.directories.app=${resolve('app')}`, `-c.directories.buildResources=${resolve('assets')}`, `-c.electronDist=${electronDist}`, `-c.electronVersion=${electronVersion}`];
if (values.output) args.push(`-c.directories.output=${resolve(values.output)}`);
run(process.execPath, args);
