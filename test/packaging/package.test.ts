import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPackage } from '@electron/asar';
import sharp from 'sharp';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { FuseState, SENTINEL } from '@electron/fuses/dist/constants.js';
import { allowInspect, verifyFuses, wantedFuses } from '../../scripts/release/fuses.js';
import { appPaths } from '../../scripts/release/install.js';
import { expectedEngine, unpackedDir } from '../electron/smoke-flow.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const config = () => YAML.parse(read('electron-builder.yml'));

describe('electron-builder configuration', () => {
  it('validates against electron-builder\'s own configuration schema', async () => {
    await expect(validateConfiguration(config(), new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config(), notAKey: true }, new DebugLogger(false))).rejects.toThrow(/unknown property 'notAKey'/);
  });

  it('declares the installers, the file association and no update channel', () => {
    const c = config();
    expect(c.linux.target).toEqual(['AppImage', 'deb']);
    expect(c.win.target).toEqual(['nsis']);
    expect(c.nsis).toMatchObject({ oneClick: false, perMachine: false });
    expect(c.mac.target).toEqual(['dmg', 'zip']);
    expect(c.fileAssociations[0].ext).toBe('reidgraph');
    expect(c.publish).toBeNull();
    expect(c.electronFuses).toMatchObject({ runAsNode: false, onlyLoadAppFromAsar: true, enableNodeCliInspectArguments: false });
    expect(c.directories.app).toBe('app');
  });

  it('icons exist in every size, rendered from the one SVG source', async () => {
    for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
      const meta = await sharp(join(ROOT, `assets/icons/${size}x${size}.png`)).metadata();
      expect([meta.width, meta.height]).toEqual([size, size]);
    }
    expect((await sharp(join(ROOT, 'assets/icon.png')).metadata()).width).toBe(1024);
  });

  it('packages listed in both manifests have identical versions', () => {
    const root = JSON.parse(read('package.json'));
    const app = JSON.parse(read('app/package.json'));
    const rootDeps = { ...root.dependencies, ...root.devDependencies, ...root.optionalDependencies };
    const appDeps = { ...app.dependencies, ...app.optionalDependencies };
    for (const [name, version] of Object.entries(appDeps)) expect([name, rootDeps[name]]).toEqual([name, version]);
    expect(appDeps.electron).toBeUndefined();
    expect(app.version).toBe(root.version);
  });
});

describe('what would ship (electron-builder --dir against a stand-in Electron)', () => {
  let out: string;
  let files: string[];
  let standIn: string;
  beforeAll(() => {
    const tmp = mkdtempSync(join(tmpdir(), 'reid-dist-'));
    const fake = join(tmp, 'electron-dist');
    mkdirSync(fake);
    // A shell script that carries an Electron fuse wire as Electron's binary does (@electron/fuses' sentinel,
    // wire version 1, 8 fuses, every one enabled): electron-builder flips the fuses in it as in the real one.
    writeFileSync(join(fake, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\necho stand-in electron\nexit 0\n# ${SENTINEL}`), Buffer.from([1, 8, ...Array(8).fill(FuseState.ENABLE)]), Buffer.from('\n')]));
    chmodSync(join(fake, 'electron'), 0o755);
    standIn = join(fake, 'electron');
    out = join(tmp, 'out');
    execFileSync(process.execPath, ['scripts/dist.mjs', '--dir', '--electron-dist', fake, '--output', out], { cwd: ROOT, stdio: 'pipe' });
    files = listPackage(join(out, 'linux-unpacked/resources/app.asar'), { isPack: false }).map((f) => f.replace(/\\/g, '/'));
  }, 600_000);

  it('app.asar holds the built bundles and the runtime manifest', () => {
    for (const f of ['/package.json', '/dist/electron-main.js', '/dist/preload.cjs', '/dist/cli.js', '/dist/renderer/index.html']) expect(files).toContain(f);
    expect(JSON.parse(read('app/package.json')).main).toBe('dist/electron-main.js');
  });

  it('and its runtime dependencies only: no electron, no dev tooling, no sources or tests', () => {
    const modules = new Set(files.filter((f) => f.startsWith('/node_modules/')).map((f) => f.split('/').slice(2, f.split('/')[2]!.startsWith('@') ? 4 : 3).join('/')));
    expect(modules.has('@tensorflow/tfjs-core')).toBe(true);
    for (const dev of ['electron', 'typescript', 'vitest', 'vite', 'electron-builder', 'react', 'react-dom', '@xyflow/react', 'playwright-core', 'esbuild', 'fast-check', 'dependency-cruiser', 'tsx'])
      expect([dev, modules.has(dev)]).toEqual([dev, false]);
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
    expect(files.some((f) => /^\/(core|main|renderer|test|scripts)\//.test(f))).toBe(false);
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
  });

  it('the shipped bundles run with only the runtime dependencies of app/package.json', () => {
    // A copy of what the installer holds (app/package.json, dist/, the node_modules electron-builder packed),
    // outside the repository so nothing resolves from the development node_modules.
    const shipped = mkdtempSync(join(tmpdir(), 'reid-shipped-'));
    cpSync(join(ROOT, 'app/package.json'), join(shipped, 'package.json'));
    cpSync(join(ROOT, 'app/dist'), join(shipped, 'dist'), { recursive: true });
    symlinkSync(join(ROOT, 'app/node_modules'), join(shipped, 'node_modules'), 'dir');
    const run = (...args: string[]) => execFileSync(process.execPath, [join(shipped, 'dist/cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, REID_STUDIO_HOME: join(shipped, 'home'), NODE_PATH: '' }, cwd: shipped });
    expect(JSON.parse(run('summary', '--preset', 'resnet18', '--json')).totalParams).toBe(11_562_048);
    const e = JSON.parse(run('eval', '--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--json'));
    // onnxruntime-node ships in app/package.json (optional, CPU binaries inside the npm package): eval runs on it.
    expect(e.backend).toBe('onnxruntime');
    expect(e.numQuery).toBe(29);
  }, 300_000);

  it('native and wasm files are unpacked from the asar', () => {
    const unpacked = join(out, 'linux-unpacked/resources/app.asar.unpacked/node_modules');
    expect(existsSync(join(unpacked, 'sharp'))).toBe(true);
    expect(readdirSync(join(unpacked, '@img')).some((d) => d.startsWith('sharp-'))).toBe(true);
    expect(readdirSync(join(unpacked, '@tensorflow/tfjs-backend-wasm/dist')).some((f) => f.endsWith('.wasm'))).toBe(true);
    expect(existsSync(join(unpacked, `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`))).toBe(true);
  });

  it("ships onnxruntime's binaries for the installer's OS and architecture only", () => {
    const ort = join(out, 'linux-unpacked/resources/app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6');
    expect(readdirSync(ort)).toEqual(['linux']);
    // The npm package carries linux/x64 and linux/arm64; `npm run dist` built for this machine's architecture.
    expect(readdirSync(join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux')).sort()).toEqual(['arm64', 'x64']);
    expect(readdirSync(join(ort, 'linux'))).toEqual([process.arch]);
    expect(files.some((f) => /onnxruntime-node\/bin\/napi-v6\/(darwin|win32)\//.test(f))).toBe(false);
  });

  it("electron-builder flips the fuses electron-builder.yml names, and the release workflow's check reads them back", async () => {
    const exe = join(out, 'linux-unpacked/reid-studio');
    // The stand-in, as copied from Electron's folder, had every fuse on: the check lists each one the config turns off.
    const off = wantedFuses().filter(([, , v]) => v === false).map(([k]) => k);
    expect(off).toEqual(expect.arrayContaining(['runAsNode', 'enableNodeCliInspectArguments', 'enableNodeOptionsEnvironmentVariable']));
    expect((await verifyFuses(standIn)).map((l) => l.split(':')[0])).toEqual(off);
    expect(await verifyFuses(exe)).toEqual([]);
    // The smoke test's install: only the inspector fuse differs from what ships.
    const copy = join(mkdtempSync(join(tmpdir(), 'reid-fuses-')), 'reid-studio');
    cpSync(exe, copy);
    await allowInspect(copy);
    expect(await verifyFuses(copy)).toEqual(['enableNodeCliInspectArguments: the binary has true, electron-builder.yml wants false']);
  });

  it('the release scripts find the executable and the unpacked native packages where electron-builder put them', () => {
    // install.ts names the Linux executable from electron-builder.yml / app/package.json; the smoke test finds
    // the native packages beside app.asar: both checked against this electron-builder output.
    const { executable } = appPaths('AppImage', join(out, 'linux-unpacked'));
    expect(executable).toBe(join(out, 'linux-unpacked/reid-studio'));
    expect(existsSync(executable)).toBe(true);
    expect(unpackedDir(executable)).toBe(join(out, 'linux-unpacked/resources/app.asar.unpacked'));
    expect('onnxruntime').toMatch(expectedEngine(unpackedDir(executable)));
    expect(unpackedDir('/A/ReID Studio.app/Contents/MacOS/ReID Studio', 'darwin')).toBe('/A/ReID Studio.app/Contents/Resources/app.asar.unpacked');
  });
});
