import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { expandMacro } from 'app-builder-lib/out/util/macroExpander.js';
import { Arch, DebugLogger, getArtifactArchName } from 'builder-util';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { builderConfig } from '../../scripts/builder-config.mjs';
import { checkBudgets, readBudgets, targetOf } from '../../scripts/release/budgets.js';
import { installerFiles } from '../../scripts/release/common.js';
import { distEnv, SIGNING_VARIABLES, signingPlan, type ReleaseOs } from '../../scripts/release/dist.js';
import { releaseUnitTests } from '../../scripts/release/unit-tests.js';

/**
 * The release workflow (.github/workflows/release.yml) cannot run here: Electron's binary and the installer
 * tools are downloaded from hosts this machine cannot reach. What can be checked here is: the file is a
 * valid workflow by GitHub's own parser and schema (@actions/workflow-parser, from actions/languageservices,
 * bundled, no network), and everything it names exists and agrees — npm scripts, script files, the smoke
 * test, the budgets, electron-builder's artifact names (computed with electron-builder's own expander), the
 * secrets the signing step passes on.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const WORKFLOW = '.github/workflows/release.yml';

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  'runs-on': string;
  steps: Step[];
  strategy?: { matrix: { include: { os: string; builder: ReleaseOs; arches: string; smoke: string; installers: string }[] } };
}
const workflow = () => YAML.parse(read(WORKFLOW)) as { on: { push: { tags: string[] }; workflow_dispatch: unknown }; jobs: Record<string, Job> };
const builder = () => YAML.parse(read('electron-builder.yml')) as Record<string, { target?: string[]; artifactName?: string }> & { artifactName: string };
const allSteps = () => Object.values(workflow().jobs).flatMap((j) => j.steps);
const RUNNER_OS: Record<ReleaseOs, string> = { linux: 'Linux', win: 'Windows', mac: 'macOS' };

/** GitHub's parser (scripts/release/validate-workflow.ts, in tsx): the schema and expression errors of workflow texts. */
function workflowErrors(...contents: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'reid-workflow-'));
  const files = contents.map((content, i) => {
    writeFileSync(join(dir, `w${i}.yml`), content);
    return join(dir, `w${i}.yml`);
  });
  const r = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/release/validate-workflow.ts', '--json', ...files], { cwd: ROOT, encoding: 'utf8' });
  const report = JSON.parse(r.stdout) as Record<string, string[]>;
  expect(r.status, r.stderr).toBe(Object.values(report).some((e) => e.length) ? 1 : 0);
  return files.map((f) => report[f]!);
}

describe('the release workflow is a valid GitHub Actions workflow', () => {
  it("validates against GitHub's workflow schema", () => {
    expect(workflowErrors(read(WORKFLOW))).toEqual([[]]);
  });

  it('the validator rejects this file broken in the ways a hand edit breaks it', () => {
    const text = read(WORKFLOW);
    const broken = {
      'a misspelt key': text.replace('runs-on: ${{ matrix.os }}', 'runs_on: ${{ matrix.os }}'),
      'a step without run or uses': text.replace('run: npm ci --no-audit --no-fund', 'runx: npm ci --no-audit --no-fund'),
      'secrets in a step condition (not available there)': text.replace("if: runner.os == 'Windows'", "if: secrets.WIN_CSC_LINK != ''"),
      'an expression that does not parse': text.replace('${{ steps.deb.outputs.executable }}', '${{ steps.deb.outputs.executable == }}'),
      'an unknown trigger': text.replace('workflow_dispatch:', 'workflow_dispach:'),
    };
    for (const [why, content] of Object.entries(broken)) expect(content, why).not.toBe(text);
    const errors = workflowErrors(...Object.values(broken));
    expect(Object.fromEntries(Object.keys(broken).map((why, i) => [why, errors[i]!.length > 0]))).toEqual(Object.fromEntries(Object.keys(broken).map((why) => [why, true])));
    expect(errors[2]!.join('\n')).toMatch(/Unrecognized named-value: 'secrets'/);
  });

  it('runs on v* tags and by hand, on Linux, Windows and macOS, one matrix entry per electron-builder OS', () => {
    const w = workflow();
    expect(w.on.push.tags).toEqual(['v*']);
    expect('workflow_dispatch' in w.on).toBe(true);
    const matrix = w.jobs.build!.strategy!.matrix.include;
    expect(matrix.map((m) => m.os)).toEqual(['ubuntu-latest', 'windows-latest', 'macos-latest']);
    expect(matrix.map((m) => m.builder)).toEqual(['linux', 'win', 'mac']);
    for (const m of matrix) expect(builder()[m.builder]!.target!.length, m.builder).toBeGreaterThan(0);
    expect(matrix.find((m) => m.builder === 'mac')!.arches.split(' ').sort()).toEqual(['arm64', 'x64']);
  });

  it('pins every action to a full commit with its version beside it', () => {
    const lines = read(WORKFLOW).split('\n').filter((l) => /^\s*(- )?uses:/.test(l));
    expect(lines.length).toBeGreaterThan(4);
    for (const l of lines) expect(l).toMatch(/uses: actions\/[a-z-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });
});

describe('what the workflow names exists', () => {
  it('every npm script it runs is in package.json, every script file it runs exists', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    const runs = allSteps().flatMap((s) => (s.run ? [s.run] : []));
    const npmRuns = runs.flatMap((r) => [...r.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect(npmRuns).toContain('test:electron');
    for (const n of npmRuns) expect(scripts[n], `npm run ${n}`).toBeDefined();
    const files = runs.flatMap((r) => [...r.matchAll(/(?:npx tsx|node) ((?:scripts|test)\/[\w./-]+)/g)].map((m) => m[1]!));
    expect(files).toEqual(expect.arrayContaining(['scripts/release/unit-tests.ts', 'scripts/release/dist.ts', 'scripts/release/install.ts', 'scripts/release/budgets.ts']));
    for (const f of files) expect(existsSync(join(ROOT, f)), f).toBe(true);
    // `npm run test:electron` with REID_STUDIO_EXECUTABLE runs the smoke test file, which exists.
    expect(scripts['test:electron']).toBe('node scripts/test-electron.mjs');
    expect(read('scripts/test-electron.mjs')).toContain("['test/electron/smoke.electron.ts']");
    expect(existsSync(join(ROOT, 'test/electron/smoke.electron.ts'))).toBe(true);
  });

  it('with REID_STUDIO_EXECUTABLE, vitest lists the smoke test (and no other real-window test)', () => {
    const include = (env: NodeJS.ProcessEnv) =>
      JSON.parse(
        spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', '-e', "import('./vitest.config.ts').then((m) => console.log(JSON.stringify(m.default.test.include)))"], { cwd: ROOT, encoding: 'utf8', env }).stdout,
      ) as string[];
    expect(include({ ...process.env, REID_STUDIO_EXECUTABLE: '/opt/ReID Studio/reid-studio' })).toEqual(['test/**/*.test.ts', 'test/electron/smoke.electron.ts']);
  });

  it('npm run test:electron says so when the executable it is pointed at is missing', () => {
    const r = spawnSync(process.execPath, ['scripts/test-electron.mjs'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REID_STUDIO_EXECUTABLE: join(tmpdir(), 'no-such-reid-studio') } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^reid-studio test:electron: REID_STUDIO_EXECUTABLE=.*no-such-reid-studio does not exist$/);
  });

  it('each smoke test runs the executable its install step prepared, and writes where the budget step reads', () => {
    const steps = workflow().jobs.build!.steps;
    const matrix = workflow().jobs.build!.strategy!.matrix.include;
    const smoke = steps.filter((s) => s.env?.REID_STUDIO_EXECUTABLE);
    expect(smoke.length).toBe(matrix.flatMap((m) => m.smoke.split(' ')).length);
    for (const s of smoke) {
      const id = /^\$\{\{ steps\.([\w-]+)\.outputs\.executable \}\}$/.exec(s.env!.REID_STUDIO_EXECUTABLE!)?.[1];
      const install = steps.find((x) => x.id === id);
      expect(install?.run, s.name).toContain('scripts/release/install.ts');
      expect(install!.if).toBe(s.if);
      const target = /--target (\w+)/.exec(install!.run!)![1]!;
      expect(s.env!.REID_STUDIO_SMOKE_OUT).toBe(`\${{ runner.temp }}/smoke/${target}`);
      expect(s.run).toMatch(/^(xvfb-run -a )?npm run test:electron$/);
      // The OS of the step's condition lists that target for the budget step, and builds it.
      const m = matrix.find((x) => s.if === `runner.os == '${RUNNER_OS[x.builder]}'`)!;
      expect(m.smoke.split(' '), s.name).toContain(target);
      expect(builder()[m.builder]!.target!.map((t) => t.toLowerCase()), s.name).toContain(target.toLowerCase());
      if (m.builder === 'linux') expect(s.run).toMatch(/^xvfb-run -a /);
    }
    expect(steps.find((s) => s.name?.startsWith('Budgets'))!.run).toContain('"$RUNNER_TEMP/smoke/$target/metrics.json"');
  });
});

describe("installer names: electron-builder.yml's artifactName, the workflow's uploads, the budgets", () => {
  const version = JSON.parse(read('app/package.json')).version as string;
  const appInfo = { version, name: JSON.parse(read('app/package.json')).name, productName: builder().productName as unknown as string, sanitizedProductName: builder().productName as unknown as string };
  /** The names electron-builder gives each installer of `os`, with its own macro expander and arch names. */
  function expectedNames(os: ReleaseOs, arches: string[]): string[] {
    const c = builder();
    return c[os]!.target!.flatMap((target) => {
      const ext = { AppImage: 'AppImage', deb: 'deb', nsis: 'exe', dmg: 'dmg', zip: 'zip' }[target]!;
      const pattern = c[target]?.artifactName ?? c[os]!.artifactName ?? c.artifactName;
      return arches.map((a) => expandMacro(pattern, getArtifactArchName(Arch[a as 'x64'], ext), appInfo as never, { os, ext }));
    });
  }
  const globRe = (g: string) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);

  it('every installer of every OS is uploaded by its matrix entry, named without spaces', () => {
    const names: string[] = [];
    for (const m of workflow().jobs.build!.strategy!.matrix.include) {
      const globs = m.installers.trim().split('\n').map((g) => globRe(g.trim()));
      for (const n of expectedNames(m.builder, m.arches.split(' '))) {
        names.push(n);
        expect(n).not.toMatch(/\s/);
        expect(globs.some((g) => g.test(`dist/installers/${n}`)), `${m.builder}: ${n}`).toBe(true);
      }
    }
    expect(names).toEqual([
      `ReID-Studio-${version}-linux-x86_64.AppImage`,
      `reid-studio_${version}_amd64.deb`,
      `ReID-Studio-${version}-win-x64.exe`,
      `ReID-Studio-${version}-mac-arm64.dmg`,
      `ReID-Studio-${version}-mac-x64.dmg`,
      `ReID-Studio-${version}-mac-arm64.zip`,
      `ReID-Studio-${version}-mac-x64.zip`,
    ]);
  });

  it('the budget file parses, and every target of every OS has a size budget; start-up and memory per OS', () => {
    const b = readBudgets();
    for (const os of ['linux', 'win', 'mac'] as const) {
      expect(Object.keys(b.installerMiB[os]).sort(), os).toEqual([...builder()[os]!.target!].sort());
      for (const v of Object.values(b.installerMiB[os])) expect(v).toBeGreaterThan(0);
      expect(b.launchToCanvasMs[os]).toBeGreaterThan(0);
      expect(b.memoryAfterPresetMiB[os]).toBeGreaterThan(0);
    }
    for (const m of workflow().jobs.build!.strategy!.matrix.include)
      for (const n of expectedNames(m.builder, m.arches.split(' '))) expect(Object.keys(b.installerMiB[m.builder])).toContain(targetOf(n));
  });

  it('the budget check passes within budget, and fails over it, on a missing installer, on a missing metric', () => {
    const b = readBudgets();
    const MiB = 1024 * 1024;
    const files = (mib: number) => [{ file: `ReID-Studio-${version}-win-x64.exe`, bytes: mib * MiB }];
    const good = { name: 'nsis', data: { launchToCanvasMs: b.launchToCanvasMs.win - 1, memoryAfterPresetMiB: b.memoryAfterPresetMiB.win } };
    const ok = checkBudgets('win', b, files(b.installerMiB.win.nsis!), [good]);
    expect(ok.problems).toEqual([]);
    expect(ok.rows.map((r) => r.ok)).toEqual([true, true, true]);
    expect(checkBudgets('win', b, files(b.installerMiB.win.nsis! + 1), [good]).rows[0]!.ok).toBe(false);
    expect(checkBudgets('win', b, [], [good]).problems).toEqual(['no nsis installer was built']);
    expect(checkBudgets('win', b, files(1), [{ name: 'nsis', data: { launchToCanvasMs: b.launchToCanvasMs.win + 1 } }]).rows.find((r) => r.what.endsWith('launchToCanvasMs'))!.ok).toBe(false);
    expect(checkBudgets('win', b, files(1), [{ name: 'nsis', data: {} }]).problems).toHaveLength(2);
  });

  it('the budget script reads the files on disk and reports each failure as a GitHub error annotation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reid-budgets-'));
    const b = readBudgets();
    const inst = join(dir, 'installers');
    mkdirSync(inst);
    writeFileSync(join(inst, `ReID-Studio-${version}-linux-x86_64.AppImage`), '');
    truncateSync(join(inst, `ReID-Studio-${version}-linux-x86_64.AppImage`), 10 * 1024 * 1024); // sparse: 10 MiB
    writeFileSync(join(inst, `reid-studio_${version}_amd64.deb`), '');
    truncateSync(join(inst, `reid-studio_${version}_amd64.deb`), (b.installerMiB.linux.deb! + 5) * 1024 * 1024);
    mkdirSync(join(inst, 'linux-unpacked')); // electron-builder's other output is not an installer
    expect(installerFiles(inst).map((f) => f.slice(inst.length + 1))).toEqual([`ReID-Studio-${version}-linux-x86_64.AppImage`, `reid-studio_${version}_amd64.deb`]);
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ launchToCanvasMs: 1200, memoryAfterPresetMiB: 400 }));
    const run = () => spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/release/budgets.ts', '--os', 'linux', '--installers', inst, '--metrics', join(dir, 'metrics.json')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: join(dir, 'summary.md') } });
    let r = run();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`::error::reid-studio_${version}_amd64.deb: ${b.installerMiB.linux.deb! + 5} MiB is over its budget of ${b.installerMiB.linux.deb} MiB`);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain(`| ${join(dir, 'metrics.json')}: launchToCanvasMs | 1200 ms | ${b.launchToCanvasMs.linux} ms | ok |`);
    truncateSync(join(inst, `reid-studio_${version}_amd64.deb`), 1024 * 1024);
    r = run();
    expect(r.stdout).not.toContain('::error::');
    expect(r.status).toBe(0);
  });
});

describe('signing: secrets when present, a notice when not', () => {
  it('passes on exactly the secrets the workflow gives the Installers step', () => {
    const env = workflow().jobs.build!.steps.find((s) => s.name === 'Installers')!.env!;
    for (const [name, value] of Object.entries(env)) {
      expect(value).toBe(`\${{ secrets.${name} }}`);
      expect(SIGNING_VARIABLES).toContain(name);
    }
    expect(Object.keys(env).sort()).toEqual(['APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_ID', 'APPLE_TEAM_ID', 'MAC_CSC_KEY_PASSWORD', 'MAC_CSC_LINK', 'WIN_CSC_KEY_PASSWORD', 'WIN_CSC_LINK']);
    expect(read('scripts/release/dist.ts')).toContain('::notice::');
  });

  it('without secrets (as GitHub passes them: empty strings) macOS is signed ad hoc and Windows unsigned, each with a notice', () => {
    const none = { MAC_CSC_LINK: '', MAC_CSC_KEY_PASSWORD: '', WIN_CSC_LINK: '', WIN_CSC_KEY_PASSWORD: '', APPLE_ID: '' };
    const mac = signingPlan('mac', none);
    expect(mac.distFlags).toEqual(['--unsigned']);
    expect(mac.notices).toHaveLength(1);
    expect(mac.notices[0]).toMatch(/^macOS code signing skipped: secret\(s\) MAC_CSC_LINK, MAC_CSC_KEY_PASSWORD not set/);
    const win = signingPlan('win', none);
    expect(win.distFlags).toEqual([]);
    expect(win.notices[0]).toMatch(/^Windows code signing skipped: secret\(s\) WIN_CSC_LINK, WIN_CSC_KEY_PASSWORD not set/);
    // electron-builder takes an empty CSC_LINK for a certificate: none reaches it.
    const child = distEnv({ ...none, CSC_LINK: '', PATH: '/bin' }, win);
    expect(Object.keys(child).filter((k) => SIGNING_VARIABLES.includes(k))).toEqual(['CSC_IDENTITY_AUTO_DISCOVERY']);
    expect(child.PATH).toBe('/bin');
  });

  it('with secrets, electron-builder gets its own variables; notarisation only with all three Apple secrets', () => {
    const mac = signingPlan('mac', { MAC_CSC_LINK: 'cert', MAC_CSC_KEY_PASSWORD: 'pw', APPLE_ID: 'a@b', APPLE_APP_SPECIFIC_PASSWORD: 'x', APPLE_TEAM_ID: 'T' });
    expect(mac).toEqual({ env: { CSC_LINK: 'cert', CSC_KEY_PASSWORD: 'pw', APPLE_ID: 'a@b', APPLE_APP_SPECIFIC_PASSWORD: 'x', APPLE_TEAM_ID: 'T' }, distFlags: [], notices: [] });
    const partial = signingPlan('mac', { MAC_CSC_LINK: 'cert', MAC_CSC_KEY_PASSWORD: 'pw', APPLE_ID: 'a@b' });
    expect(partial.env).toEqual({ CSC_LINK: 'cert', CSC_KEY_PASSWORD: 'pw' });
    expect(partial.notices[0]).toMatch(/^macOS notarisation skipped: secret\(s\) APPLE_APP_SPECIFIC_PASSWORD, APPLE_TEAM_ID not set/);
    expect(signingPlan('win', { WIN_CSC_LINK: 'pfx', WIN_CSC_KEY_PASSWORD: 'pw', MAC_CSC_LINK: 'cert' }).env).toEqual({ WIN_CSC_LINK: 'pfx', WIN_CSC_KEY_PASSWORD: 'pw' });
  });

  it("the unsigned (ad hoc) configuration is valid for electron-builder's schema", async () => {
    const unsigned = builderConfig({ unsigned: true });
    expect(unsigned.mac).toMatchObject({ identity: '-', hardenedRuntime: false, notarize: false });
    await expect(validateConfiguration(unsigned as never, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration(builderConfig({ standIn: true }) as never, new DebugLogger(false))).resolves.toBeUndefined();
  });
});

describe("the release workflow's unit tests", () => {
  it('are the pure suites: the real-window smoke steps in Chromium and the PyTorch parity tests are not among them', () => {
    const files = releaseUnitTests();
    expect(files).toEqual(expect.arrayContaining(['test/electron/desktop.test.ts', 'test/electron/ipc.test.ts', 'test/core/presets.test.ts']));
    expect(files).not.toContain('test/electron/smoke-flow.test.ts');
    expect(files).not.toContain('test/core/conformance.test.ts');
    expect(files).not.toContain('test/packaging/package.test.ts');
    for (const f of files) expect(read(f)).not.toMatch(/usr\/bin\/python3|launchBrowser/);
  });
});
