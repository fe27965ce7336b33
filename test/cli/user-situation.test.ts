/**
 * The user's situation is never an internal error (issue #25): a full disk, stdout on a full device,
 * numbers written in other notations, a negative number after a flag, a data folder that is a device, a
 * flag with no value — each is a one-line user error (exit 2), never exit 0 with lost output, never a
 * silently different number. The full disk is a real 1 MiB tmpfs (mount(8); CI runs as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'reid-situation-'));
const full = join(home, 'full');
const env = { ...process.env, REID_STUDIO_HOME: home };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });

beforeAll(() => {
  mkdirSync(full);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
});
afterAll(() => {
  execFileSync('umount', [full]);
  rmSync(home, { recursive: true, force: true });
});

/** Exit 2 and exactly one line on stderr, `reid-studio: error: …` matching `re`. */
function userError(r: { status: number | null; stderr: string }, re: RegExp): void {
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toMatch(/^reid-studio: error: /);
  expect(r.stderr).toMatch(re);
  expect(r.status).toBe(2);
}

describe('the user\'s situation is a user error', () => {
  it('demo-data on a full disk: one line saying so, no temp folder left', () => {
    userError(cli('demo-data', '--out', join(full, 'demo'), '--size', 'small'), /the disk is full \(ENOSPC\)/);
    expect(readdirSync(full)).toEqual([]);
  });

  it('weights --json > /dev/full exits non-zero (the output was lost)', () => {
    const fd = openSync('/dev/full', 'w');
    const ckpt = join(home, 'w.pth');
    execFileSync('/usr/bin/python3', ['-c', 'import sys,torch; torch.save({"a": torch.zeros(3)}, sys.argv[1])', ckpt]);
    try {
      const r = spawnSync(process.execPath, [BIN, 'weights', ckpt, '--json'], { encoding: 'utf8', env, stdio: ['ignore', fd, 'pipe'] });
      userError(r, /cannot write the output to standard output: no space left on the device \(ENOSPC\)/);
    } finally {
      closeSync(fd);
    }
  });

  it('numbers: hex and exponent notations are refused, a seed above 2^53 is refused, a negative number gets the flag\'s own message', () => {
    userError(cli('train', '--preset', 'resnet18', '--demo', '--epochs', '0x10'), /--epochs must be a whole number ≥ 1 written in decimal digits \(got "0x10"\)/);
    userError(cli('train', '--preset', 'resnet18', '--demo', '--epochs', '1e1'), /--epochs .*\(got "1e1"\)/);
    userError(cli('train', '--preset', 'resnet18', '--demo', '--seed', String(2n ** 53n + 1n)), /--seed must be a whole number ≥ 0 .*\(got "9007199254740993"\)/);
    const neg = cli('train', '--preset', 'resnet18', '--demo', '--seed', '-1');
    userError(neg, /--seed must be a whole number ≥ 0 written in decimal digits \(got "-1"\)/);
    expect(neg.stderr).not.toMatch(/ambiguous/);
    userError(cli('train', '--preset', 'resnet18', '--demo', '--lr', '-0.5'), /--lr must be a positive number \(got "-0\.5"\)/);
    userError(cli('embed', '--preset', 'resnet18', '--weights', 'x.pth', '--images', home, '--out', 'f.npy', '--batch-size', '0x8'), /--batch-size must be a whole number from 1 to 1024/);
  });

  it('serve --data-dir /dev/null is refused before anything starts', () => {
    userError(cli('serve', '--no-open', '--port', '0', '--data-dir', '/dev/null'), /--data-dir must be a folder \(\/dev\/null is not a folder\)/);
  });

  it('backend --backend with no value lists every backend, onnxruntime included', () => {
    userError(cli('backend', '--backend'), /choose one of auto, webgpu, onnxruntime, .*cpu/);
  });
});
