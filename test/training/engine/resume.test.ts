import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeDocument, trainingSettingsSchema } from '../../../core/index.js';
import { loadDataset } from '../../../main/training/data/datasets.js';
import { writeDemoDataset } from '../../../main/training/data/demo.js';
import { readCheckpoint } from '../../../main/runs/store/checkpoint.js';
import { RunDir } from '../../../main/runs/store/run-dir.js';
import { train, TrainError, type TrainEvent } from '../../../main/training/engine/trainer.js';
import type { TrainJob } from '../../../main/runs/jobs.js';
import { nodeSpawner, type WorkerHandle } from '../../../main/runs/process.js';
import type { BackendName } from '../../../main/tfjs/index.js';
import { TRAIN_BACKENDS } from '../../backends.js';
import { tinyGraph } from './tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'reid-resume-'));
const data = join(tmp, 'demo');
const settings = trainingSettingsSchema.parse({ epochs: 2, batch: { p: 4, k: 4 }, evalPeriod: 2, schedule: { warmup: false, steps: [100] }, optimizer: { baseLr: 1e-3 }, seed: 3 });

async function finalState(runDir: string) {
  const c = await readCheckpoint<{ step: number; epoch: number }>(runDir);
  expect(c).not.toBeNull();
  return c!;
}

/** Runs a training job in a training process until it is killed (SIGKILL); `kill` sets the checkpoint fault hook. */
function inWorker(job: TrainJob, onEvent: (w: WorkerHandle, e: TrainEvent) => void = () => undefined, kill?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (kill) process.env.REID_STUDIO_CHECKPOINT_KILL = kill;
    const w = nodeSpawner();
    delete process.env.REID_STUDIO_CHECKPOINT_KILL;
    let killed = false;
    w.onMessage((m) => {
      if (m.type === 'event' && !killed) onEvent({ ...w, kill: () => ((killed = true), w.kill()) }, m.event);
      if (m.type === 'failed') reject(new Error(m.message));
    });
    w.onExit((_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`worker exited without being killed (${signal})`))));
    w.send({ type: 'start', job });
  });
}

const references = new Map<BackendName, Promise<string>>();
/** The uninterrupted reference run on `backend` (trained once, shared by the crash tests). */
function reference(backend: BackendName): Promise<string> {
  const make = async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const dir = join(tmp, backend, 'A');
    await train({ doc: tinyGraph(ds.numClasses), settings, dataset: ds, runDir: dir, backend, checkpointEverySteps: 1 });
    return dir;
  };
  if (!references.has(backend)) references.set(backend, make());
  return references.get(backend)!;
}

async function expectSameFinalState(runA: string, runB: string): Promise<void> {
  const a = await finalState(runA);
  const b = await finalState(runB);
  expect(b.meta.step).toBe(a.meta.step);
  expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
  let maxDiff = 0;
  for (const [k, t] of a.tensors) {
    const u = b.tensors.get(k)!.data;
    t.data.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - u[i]!))));
  }
  expect(maxDiff).toBeLessThan(1e-5);
  const evalA = JSON.parse(readFileSync(join(runA, 'eval.json'), 'utf8'));
  const evalB = JSON.parse(readFileSync(join(runB, 'eval.json'), 'utf8'));
  expect(evalB.mAP).toBeCloseTo(evalA.mAP, 6);
  // Curves have each step once, even though steps after the crash checkpoint ran twice.
  const steps = (await new RunDir(runB).metrics()).filter((m) => m.type === 'step').map((m) => m.step);
  expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
}

beforeAll(async () => {
  await writeDemoDataset(data, 'tiny', 0);
}, 120_000);

// Every tfjs backend present (test/backends.ts): wasm here, tfjs-node / tfjs-node-gpu where installed.
describe.each(TRAIN_BACKENDS)('training runs: crash, resume, bad losses (%s)', (backend) => {
  it('a kill -9 mid-run loses only the steps since the last checkpoint, and the resumed run matches an uninterrupted one', async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const doc = tinyGraph(ds.numClasses);
    const runA = await reference(backend);

    // The same run in a training process, killed with SIGKILL right after its second checkpoint.
    const runB = join(tmp, backend, 'B');
    const events: TrainEvent[] = [];
    await new RunDir(runB).init();
    await inWorker({ runDir: runB, doc: serializeDocument(doc), settings, data: { data }, backend, checkpointEverySteps: 1 }, (w, e) => {
      events.push(e);
      if (e.type === 'checkpoint' && e.step >= 2) w.kill();
    });
    const crashed = await finalState(runB);
    expect(crashed.meta.step).toBeGreaterThanOrEqual(2);
    expect(crashed.meta.step).toBeLessThan(6);
    expect((await new RunDir(runB).readJson<{ status: string }>('run.json'))!.status).toBe('running'); // died, never finished

    const resumed = await train({ doc, settings, dataset: ds, runDir: runB, backend, resume: true, checkpointEverySteps: 1 });
    expect(resumed.status).toBe('completed');
    await expectSameFinalState(runA, runB);
    // The weights moved during training (the comparison is not between two untouched models).
    const first = events.find((e) => e.type === 'step');
    expect(first).toBeDefined();
  }, 600_000);

  it('two crashes in a row during checkpoint writes (between the two renames, then right after the resumed run removes the previous checkpoint): the run resumes and matches', async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const doc = serializeDocument(tinyGraph(ds.numClasses));
    const runA = await reference(backend);
    const runC = join(tmp, backend, 'C');
    await new RunDir(runC).init();
    const job: TrainJob = { runDir: runC, doc, settings, data: { data }, backend, checkpointEverySteps: 1 };
    // First crash: in the 3rd checkpoint write, after `checkpoint` became `checkpoint.prev`, before the new one is renamed in.
    await inWorker(job, undefined, '3:moved-aside');
    expect(readdirSync(runC).filter((n) => n.startsWith('checkpoint')).sort()).toEqual(['checkpoint.prev', expect.stringMatching(/^checkpoint\.tmp-/)]);
    // Second crash: the resumed process dies in its first checkpoint write, right after removing the previous one.
    await inWorker({ ...job, resume: true }, undefined, '1:prev-removed');
    expect((await finalState(runC)).meta.step).toBe(4);
    const resumed = await train({ doc: tinyGraph(ds.numClasses), settings, dataset: ds, runDir: runC, backend, resume: true, checkpointEverySteps: 1 });
    expect(resumed.status).toBe('completed');
    expect(readdirSync(runC).filter((n) => n.startsWith('checkpoint'))).toEqual(['checkpoint']);
    await expectSameFinalState(runA, runC);
  }, 600_000);

  it('a run stopped right after its last step still gets its final evaluation when resumed', async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const dir = join(tmp, backend, 'stop-at-end');
    const stopped = await train({ doc: tinyGraph(ds.numClasses), settings, dataset: ds, runDir: dir, backend, maxSteps: 6 });
    expect(stopped.status).toBe('stopped');
    expect(existsSync(join(dir, 'eval.json'))).toBe(false);
    const resumed = await train({ doc: tinyGraph(ds.numClasses), settings, dataset: ds, runDir: dir, backend, resume: true });
    expect(resumed.status).toBe('completed');
    expect(JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'))).toMatchObject({ epoch: 2, step: 6 });
  }, 300_000);

  it('a stop asked for during an evaluation ends it there (nothing recorded); resume runs the final one, equal to the uninterrupted run', async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const every = trainingSettingsSchema.parse({ ...settings, evalPeriod: 1 });
    // Stop during epoch 1's evaluation (mid-run): the checkpoint holds epoch 1; no eval is recorded for it.
    const dir = join(tmp, backend, 'stop-in-eval');
    const control: { request?: 'stop' | 'pause' } = {};
    const events: TrainEvent[] = [];
    const onEvent = (e: TrainEvent) => {
      events.push(e);
      if (e.type === 'epoch') control.request = 'stop';
    };
    const first = await train({ doc: tinyGraph(ds.numClasses), settings: every, dataset: ds, runDir: dir, backend, control, onEvent });
    expect(first.status).toBe('stopped');
    expect(events.filter((e) => e.type === 'eval')).toEqual([]);
    expect(existsSync(join(dir, 'eval.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).status).toBe('stopped');
    expect(readFileSync(join(dir, 'train.log'), 'utf8')).toContain('stopped during the evaluation after epoch 1: not evaluated');
    expect((await finalState(dir)).meta.step).toBe(3);
    // Resumed, then stopped again during the final evaluation: still no eval.json, and the log says resume runs it.
    control.request = undefined;
    const second = await train({ doc: tinyGraph(ds.numClasses), settings: every, dataset: ds, runDir: dir, backend, resume: true, control, onEvent });
    expect(second.status).toBe('stopped');
    expect(existsSync(join(dir, 'eval.json'))).toBe(false);
    expect(readFileSync(join(dir, 'train.log'), 'utf8')).toContain('stopped during the evaluation after epoch 2: not evaluated; train --resume runs the final evaluation');
    // The last resume has no step left and runs the final evaluation: the uninterrupted run's.
    const third = await train({ doc: tinyGraph(ds.numClasses), settings: every, dataset: ds, runDir: dir, backend, resume: true });
    expect(third.status).toBe('completed');
    const evalRef = JSON.parse(readFileSync(join(await reference(backend), 'eval.json'), 'utf8'));
    const got = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
    expect(got).toMatchObject({ epoch: 2, step: 6 });
    expect(got.mAP).toBeCloseTo(evalRef.mAP, 6);
    expect(got.rank1).toBeCloseTo(evalRef.rank1, 6);
  }, 600_000);

  it('a loss that becomes NaN / Inf stops the run naming the step and the term', async () => {
    const ds = await loadDataset('market1501', data, { k: 4 });
    const wild = trainingSettingsSchema.parse({ ...settings, optimizer: { name: 'sgd', baseLr: 1e30, momentum: 0 }, epochs: 3 });
    const err = await train({ doc: tinyGraph(ds.numClasses), settings: wild, dataset: ds, runDir: join(tmp, backend, 'nan'), backend }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect(String(err.message)).toMatch(/loss became (NaN|Infinity|-Infinity) at epoch \d+, iteration \d+ \(step \d+\)/);
    expect((await new RunDir(join(tmp, backend, 'nan')).readJson<{ status: string }>('run.json'))!.status).toBe('failed');
  }, 300_000);
});
