// Electron fuses of a packaged app, read and flipped with @electron/fuses (the library electron-builder uses).
//   npx tsx scripts/release/fuses.ts verify PATH         exit 1 unless every fuse in electron-builder.yml's
//                                                         electronFuses has that value in the binary
//   npx tsx scripts/release/fuses.ts allow-inspect PATH  turns EnableNodeCliInspectArguments on, in a TEST install
//                                                         only: Playwright's Electron driver attaches through Node's
//                                                         inspector (--inspect), which the shipped fuse refuses.
//                                                         Nothing else changes; on macOS the app is re-signed ad hoc
//                                                         (its signature covers the flipped framework binary).
// PATH: the app's executable (Linux, Windows) or its .app bundle (macOS).
import { readFileSync } from 'node:fs';
import { FuseV1Options, FuseVersion, flipFuses, getCurrentFuseWire } from '@electron/fuses';
import { FuseState } from '@electron/fuses/dist/constants.js';
import YAML from 'yaml';
import { isMain, ROOT } from './common.js';

type FuseName = keyof typeof FuseV1Options;

/** electron-builder.yml's electronFuses keys are FuseV1Options' names with a lower-case first letter. */
export function fuseOption(key: string): FuseV1Options {
  const name = `${key[0]!.toUpperCase()}${key.slice(1)}`;
  const option = FuseV1Options[name as FuseName];
  if (typeof option !== 'number') throw new Error(`electron-builder.yml: electronFuses.${key} is no Electron fuse (@electron/fuses has no ${name})`);
  return option;
}

/** The fuses electron-builder.yml asks for, as [key, FuseV1Options index, wanted value]. */
export function wantedFuses(configText = readFileSync(`${ROOT}/electron-builder.yml`, 'utf8')): [string, FuseV1Options, boolean][] {
  const fuses = (YAML.parse(configText) as { electronFuses?: Record<string, boolean> }).electronFuses ?? {};
  return Object.entries(fuses)
    .filter(([key]) => key !== 'resetAdHocDarwinSignature')
    .map(([key, value]) => [key, fuseOption(key), value]);
}

function stateName(byte: number | undefined): boolean | string {
  if (byte === FuseState.ENABLE) return true;
  if (byte === FuseState.DISABLE) return false;
  if (byte === FuseState.REMOVED) return 'removed';
  return `byte ${byte}`;
}

/** Compares the binary's fuse wire with electron-builder.yml; one line per fuse that differs (none: as configured). */
export async function verifyFuses(path: string, configText?: string): Promise<string[]> {
  const wire = (await getCurrentFuseWire(path)) as unknown as Record<string, number> & { version: string };
  if (wire.version !== FuseVersion.V1) return [`fuse wire version ${wire.version}, expected ${FuseVersion.V1}`];
  const wrong: string[] = [];
  for (const [key, option, value] of wantedFuses(configText)) {
    const actual = stateName(wire[option]);
    if (actual !== value) wrong.push(`${key}: the binary has ${actual}, electron-builder.yml wants ${value}`);
  }
  return wrong;
}

/** The whole wire, named: "RunAsNode=false EnableCookieEncryption=true …". */
export async function describeFuses(path: string): Promise<string> {
  const wire = (await getCurrentFuseWire(path)) as unknown as Record<string, number>;
  return Object.keys(wire)
    .filter((k) => k !== 'version')
    .map((k) => `${FuseV1Options[Number(k)] ?? `fuse${k}`}=${stateName(wire[k])}`)
    .join(' ');
}

/** Turns the Node inspector fuse on (test installs only); re-signs ad hoc on macOS. */
export async function allowInspect(path: string): Promise<void> {
  await flipFuses(path, { version: FuseVersion.V1, [FuseV1Options.EnableNodeCliInspectArguments]: true, resetAdHocDarwinSignature: process.platform === 'darwin' });
}

if (isMain(import.meta.url)) {
  const [command, path] = process.argv.slice(2);
  if (!path || (command !== 'verify' && command !== 'allow-inspect')) {
    console.error('usage: npx tsx scripts/release/fuses.ts verify|allow-inspect PATH');
    process.exit(2);
  }
  if (command === 'verify') {
    const wrong = await verifyFuses(path);
    console.log(`fuses of ${path}: ${await describeFuses(path)}`);
    for (const w of wrong) console.error(`fuse mismatch: ${w}`);
    process.exit(wrong.length ? 1 : 0);
  }
  await allowInspect(path);
  console.log(`fuses of ${path} (test install, inspector allowed): ${await describeFuses(path)}`);
}
