/**
 * One writer per run folder (#25), with real processes and real files: a live holder refuses a second
 * writer naming its pid; a holder killed with SIGKILL leaves a stale lock that is taken over; a recorded pid
 * that now belongs to another process (start time differs), another boot, or a lock that does not parse is
 * stale; a lock from another host counts as held. Lock races: fast-check draws the folder's state (free, stale
 * in each way, held, a takeover guard left by a killed process) and a number of concurrent contenders — real
 * processes for the stale-takeover race — and exactly one wins unless a live holder exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireRunLock, LOCK_FILE, readRunLock, RunLockedError, type LockHolder } from '../../main/runs/store/lock.js';
import { createRunFolder } from '../../main/runs/store/run-dir.js';
import { createRun } from '../../main/runs/lifecycle.js';

const HOLDER = fileURLToPath(new URL('./lock-holder.ts', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts a real process that takes DIR's lock; resolves with it and its first line ("locked" / "refused: …"). */
function holder(dir: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ child, line: out.split('\n')[0]! });
    });
    child.on('error', reject);
    child.on('exit', (code) => !out.includes('\n') && reject(new Error(`holder exited ${code}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockHolder;
const fresh = () => mkdtempSync(join(tmpdir(), 'reid-lock-'));

/** A pid that no process has now: a child that already exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0']);
  await exited(c);
  return c.pid!;
}

describe('run lock: one live writer', () => {
  it('a live holder (another process) refuses a second writer, naming its pid, host and purpose', async () => {
    const dir = fresh();
    const { child, line } = await holder(dir);
    expect(line).toBe('locked');
    const e = await acquireRunLock(dir, 'train').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RunLockedError);
    expect((e as Error).message).toBe(`${dir} is being written by pid ${child.pid} on host ${hostname()} (test since ${lockOf(dir).since}); wait for it to finish or stop it`);
    expect((await readRunLock(dir))!.live).toBe(true);
    // It lets go when it ends: the folder is free again, nothing of the lock left behind.
    child.stdin!.end();
    await exited(child);
    expect(readdirSync(dir)).toEqual([]);
    const mine = await acquireRunLock(dir, 'train');
    expect(lockOf(dir).pid).toBe(process.pid);
    await mine.release();
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('a holder killed with SIGKILL leaves a stale lock that the next writer takes over', async () => {
    const dir = fresh();
    const { child } = await holder(dir);
    child.kill('SIGKILL');
    await exited(child);
    expect(lockOf(dir).pid).toBe(child.pid);
    expect((await readRunLock(dir))!.live).toBe(false);
    const lock = await acquireRunLock(dir, 'resume');
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, purpose: 'resume' });
    await lock.release();
  }, 60_000);

  it('stale: a reused pid (start time differs), another boot, an unparsable lock; held: another host', async () => {
    const me = JSON.parse(readFileSync(`/proc/${process.pid}/stat`, 'utf8').replace(/^.*\) /, '["').replace(/ /g, '","').trim() + '"]') as string[];
    const base: LockHolder = { pid: process.pid, hostname: hostname(), startTime: me[19]!, purpose: 'train', since: '2026-01-01T00:00:00.000Z', token: 'x' };
    for (const [what, content, stale] of [
      ['pid reused by another process', JSON.stringify({ ...base, startTime: String(Number(base.startTime) + 1) }), true],
      ['another boot', JSON.stringify({ ...base, bootId: 'not-this-boot' }), true],
      ['not JSON', '{"pid": 12', true],
      ['another host', JSON.stringify({ ...base, hostname: `${hostname()}-elsewhere` }), false],
    ] as const) {
      const dir = fresh();
      writeFileSync(join(dir, LOCK_FILE), content);
      const r = await acquireRunLock(dir, 'train').then(
        async (l) => (await l.release(), 'taken'),
        (e: Error) => e.message,
      );
      if (stale) expect([what, r]).toEqual([what, 'taken']);
      else expect(r).toMatch(new RegExp(`on host ${hostname()}-elsewhere .*delete ${join(dir, LOCK_FILE)}\\)$`));
    }
  });
});

describe('run lock races (fast-check)', () => {
  type State = 'free' | 'dead-pid' | 'reused-pid' | 'garbage' | 'dead-guard' | 'live';
  const states: State[] = ['free', 'dead-pid', 'reused-pid', 'garbage', 'dead-guard', 'live'];

  it('in-process contenders: exactly one wins a free or stale folder, none a held one; nothing is left behind', async () => {
    const dead = await deadPid();
    const start = readFileSync(`/proc/${process.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[19]!;
    const rec = (o: Partial<LockHolder>) => JSON.stringify({ pid: dead, hostname: hostname(), purpose: 'train', since: 'then', token: Math.random().toString(36), ...o });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...states), fc.integer({ min: 2, max: 6 }), async (state, n) => {
        const dir = fresh();
        if (state === 'dead-pid') writeFileSync(join(dir, LOCK_FILE), rec({}));
        if (state === 'reused-pid') writeFileSync(join(dir, LOCK_FILE), rec({ pid: process.pid, startTime: String(Number(start) + 7) }));
        if (state === 'garbage') writeFileSync(join(dir, LOCK_FILE), '\0\0');
        if (state === 'dead-guard') {
          writeFileSync(join(dir, LOCK_FILE), rec({}));
          writeFileSync(join(dir, `${LOCK_FILE}.takeover`), rec({}));
        }
        const held = state === 'live' ? await acquireRunLock(dir, 'app') : null;
        const results = await Promise.allSettled(Array.from({ length: n }, () => acquireRunLock(dir, 'train')));
        const winners = results.filter((r) => r.status === 'fulfilled');
        expect(winners.length).toBe(state === 'live' ? 0 : 1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RunLockedError);
        const lock = held ?? (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRunLock>>>).value;
        expect(lockOf(dir).token).toBe(lock.holder.token);
        await lock.release();
        expect(readdirSync(dir)).toEqual([]);
      }),
      { numRuns: 40, seed: 25 },
    );
  }, 120_000);

  it('real processes racing for a stale lock: exactly one takes it, the others are refused naming the winner', async () => {
    const dir = fresh();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), hostname: hostname(), purpose: 'train', since: 'then', token: 'stale' }));
    const racers = await Promise.all(Array.from({ length: 4 }, () => holder(dir)));
    const won = racers.filter((r) => r.line === 'locked');
    expect(won).toHaveLength(1);
    for (const r of racers.filter((x) => x !== won[0])) expect(r.line).toMatch(new RegExp(`^refused: .* is being written by pid ${won[0]!.child.pid} `));
    expect(lockOf(dir).pid).toBe(won[0]!.child.pid);
    won[0]!.child.kill('SIGKILL');
  }, 120_000);
});

describe('run ids', () => {
  it('runs created with one name in the same second get different ids and folders', async () => {
    const root = fresh();
    const now = new Date('2026-12-07T10:00:00Z');
    const a = await Promise.all(Array.from({ length: 12 }, () => createRunFolder(root, 'same', now)));
    expect(new Set(a.map((r) => r.id)).size).toBe(12);
    expect(a.map((r) => r.id).sort()).toEqual(['20261207-100000-same', ...Array.from({ length: 11 }, (_, i) => `20261207-100000-same-${i + 2}`)].sort());
    const b = await Promise.all([createRun(root, 'twin'), createRun(root, 'twin')]);
    expect(b[0].id).not.toBe(b[1].id);
    for (const r of b) expect(JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8'))).toMatchObject({ id: r.id, name: 'twin', status: 'running' });
  });
});
