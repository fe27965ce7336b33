// Installs a built installer the way a user would, checks the installed app's Electron fuses against
// electron-builder.yml, and prepares the release smoke test's copy of it (Node's inspector allowed: see
// fuses.ts). Prints the copy's executable, and writes it as `executable` to $GITHUB_OUTPUT.
//   npx tsx scripts/release/install.ts --target deb|AppImage|nsis|dmg --installers DIR --to DIR [--arch x64|arm64]
//     deb       sudo apt-get install ./<deb> (dependencies resolved, files under /opt), then a copy into --to
//     AppImage  the AppImage's own --appimage-extract into --to (no FUSE needed on the runner)
//     nsis      the installer, silent and per user (/S /currentuser /D=<--to>)
//     dmg       mounted read-only (hdiutil), the .app copied into --to with ditto, unmounted
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { installerFiles, isMain, ROOT } from './common.js';
import { allowInspect, describeFuses, verifyFuses } from './fuses.js';
import { targetOf } from './budgets.js';

export type InstallTarget = 'deb' | 'AppImage' | 'nsis' | 'dmg';

/**
 * The app's names as electron-builder derives them: productName (the Windows .exe and the macOS .app) and the
 * Linux executable (linux.executableName, else the app's package name, app/package.json).
 */
export function appNames(builderYml = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8'), appPackageJson = readFileSync(join(ROOT, 'app/package.json'), 'utf8')): { productName: string; linuxExecutable: string; packageName: string } {
  const cfg = YAML.parse(builderYml) as { productName: string; linux?: { executableName?: string } };
  const pkg = JSON.parse(appPackageJson) as { name: string };
  return { productName: cfg.productName, linuxExecutable: cfg.linux?.executableName ?? pkg.name, packageName: pkg.name };
}

/** Inside an installed / unpacked app folder: the executable, and the path @electron/fuses takes (the .app on macOS). */
export function appPaths(target: InstallTarget, dir: string, names = appNames()): { executable: string; fusePath: string } {
  if (target === 'dmg') {
    const app = join(dir, `${names.productName}.app`);
    return { executable: join(app, 'Contents/MacOS', names.productName), fusePath: app };
  }
  const executable = target === 'nsis' ? join(dir, `${names.productName}.exe`) : join(dir, names.linuxExecutable);
  return { executable, fusePath: executable };
}

const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { stdio: 'inherit', ...(cwd ? { cwd } : {}) });

/** Installs `installer`; returns the folder holding the installed app. */
function install(target: InstallTarget, installer: string, to: string, names: ReturnType<typeof appNames>): string {
  if (target === 'deb') {
    run('sudo', ['apt-get', 'install', '-y', '--no-install-recommends', resolve(installer)]);
    const files = execFileSync('dpkg', ['-L', names.packageName], { encoding: 'utf8' }).split('\n');
    const exe = files.find((f) => f.startsWith('/opt/') && f.endsWith(`/${names.linuxExecutable}`));
    if (!exe) throw new Error(`dpkg -L ${names.packageName} lists no /opt/…/${names.linuxExecutable}`);
    return exe.slice(0, -names.linuxExecutable.length - 1);
  }
  if (target === 'AppImage') {
    chmodSync(installer, 0o755);
    run(resolve(installer), ['--appimage-extract'], to);
    return join(to, 'squashfs-root');
  }
  if (target === 'nsis') {
    // NSIS: /D= must be last and unquoted, even with spaces.
    const r = spawnSync(resolve(installer), ['/S', '/currentuser', `/D=${resolve(to, 'installed')}`], { stdio: 'inherit', windowsVerbatimArguments: true });
    if (r.status !== 0) throw new Error(`${installer} /S exited with ${r.status ?? r.signal ?? r.error}`);
    return resolve(to, 'installed');
  }
  const mnt = join(to, 'mnt');
  mkdirSync(mnt, { recursive: true });
  run('hdiutil', ['attach', '-nobrowse', '-readonly', '-mountpoint', mnt, resolve(installer)]);
  try {
    run('ditto', [join(mnt, `${names.productName}.app`), join(to, 'installed', `${names.productName}.app`)]);
  } finally {
    run('hdiutil', ['detach', mnt]);
  }
  return join(to, 'installed');
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { target: { type: 'string' }, installers: { type: 'string' }, to: { type: 'string' }, arch: { type: 'string' } } });
  const target = values.target as InstallTarget;
  if (!['deb', 'AppImage', 'nsis', 'dmg'].includes(target) || !values.installers || !values.to) {
    console.error('usage: npx tsx scripts/release/install.ts --target deb|AppImage|nsis|dmg --installers DIR --to DIR [--arch x64|arm64]');
    process.exit(2);
  }
  const arch = values.arch ?? process.arch;
  const candidates = installerFiles(values.installers).filter((f) => targetOf(f) === target && (target !== 'dmg' || f.includes(`-${arch}.`)));
  if (candidates.length !== 1) {
    console.error(`install: expected one ${target} installer${target === 'dmg' ? ` for ${arch}` : ''} in ${values.installers}, found ${candidates.length}: ${candidates.join(', ')}`);
    process.exit(1);
  }
  const to = resolve(values.to);
  mkdirSync(to, { recursive: true });
  const names = appNames();
  const installedDir = install(target, candidates[0]!, to, names);
  const installed = appPaths(target, installedDir, names);
  if (!existsSync(installed.executable)) throw new Error(`installed, but ${installed.executable} is missing (in ${installedDir}: ${readdirSync(installedDir).join(', ')})`);
  // The shipped app's fuses, as installed.
  const wrong = await verifyFuses(installed.fusePath);
  console.log(`installed: ${installed.executable}\nfuses: ${await describeFuses(installed.fusePath)}`);
  if (wrong.length) throw new Error(`the installed app's fuses differ from electron-builder.yml:\n${wrong.join('\n')}`);
  // The smoke test's copy: the deb's files under /opt are root's, so that one is copied; the others were
  // installed into the test's own folder.
  let testDir = installedDir;
  if (target === 'deb') {
    testDir = join(to, 'installed');
    cpSync(installedDir, testDir, { recursive: true, verbatimSymlinks: true });
  }
  const test = appPaths(target, testDir, names);
  await allowInspect(test.fusePath);
  console.log(`smoke-test copy: ${test.executable}\nfuses: ${await describeFuses(test.fusePath)}`);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `executable=${test.executable}\n`);
}
