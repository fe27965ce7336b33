/**
 * Training in the service: starts runs in a separate training process (main/runs/process.ts),
 * forwards their events, lists / compares / renames / deletes run folders, inspects datasets and serves
 * thumbnails. Runs live in `<dataDir>/runs/<id>`.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { readRegularFile, readTextFile } from '../io/files.js';
import { trainingCalls } from '../../core/api/training-contract.js';
import { ApiError, type CallOutput, type CallParsed, type DataSource, type EventName, type EventPayload, type RunSummary } from '../../core/api/contract.js';
import { analyze, CompileError, diffModels, diffSettings, DocumentError, LOSS_TERM_IDS, parseDocument, parseTrainingSettings } from '../../core/index.js';
import { DatasetError } from '../training/data/datasets.js';
import { planFileWeights } from '../runs/store/run-weights.js';
import { CheckpointError, NonFiniteWeightsError } from '../weights/index.js';
import { LossConfigError, planLoss } from '../training/losses/index.js';
import { listRuns, RunDir, RunIdError, runFolder, type RunInfo } from '../runs/store/run-dir.js';
import { readRunLock, RunLockedError, withRunLock } from '../runs/store/lock.js';
import { createRun, readResumePlan, RunStateError } from '../runs/lifecycle.js';
import { evalRecordDir, listEvalRecords } from '../runs/store/eval-records.js';
import { readEvalFeatures } from '../training/engine/eval-features.js';
import { compareQueriesPage } from './compare-queries.js';
import { runProjection } from './projection.js';
import { runQueriesPage } from './run-queries.js';
import { ExternalImportError, importTrainingFolder, syncExternalRun } from '../runs/external/import-run.js';
import { hasCheckpoint } from '../runs/store/checkpoint.js';
import { checkpointFolder } from '../runs/store/best-checkpoint.js';
import { isOutOfMemory, OUT_OF_MEMORY_CODE } from '../training/engine/oom.js';
import type { TrainJob } from '../runs/jobs.js';
import { nodeSpawner, type WorkerHandle, type WorkerSpawner } from '../runs/process.js';
import { openDataSource, type DataSourceArgs } from '../training/sources.js';

/** An evaluation record's folder read as a run folder by the rank-list readers: its eval.json is the record's results. */
class RecordDir extends RunDir {
  override async readJson<T>(name: string): Promise<T | null> {
    if (name !== 'eval.json') return super.readJson<T>(name);
    const r = await super.readJson<{ results?: Record<string, unknown>; reRanking?: boolean }>('record.json');
    return r?.results ? ({ ...r.results, reRanking: r.reRanking } as T) : null;
  }
}

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** The demo dataset is cached under the service's data folder (`--data-dir`), never elsewhere. */
export function toArgs(d: DataSource, dataDir: string): DataSourceArgs {
  return d.kind === 'demo' ? { demo: true, demoSize: d.size, dataDir } : { data: d.path, ...(d.layout ? { layout: d.layout } : {}) };
}

/**
 * Reads the pretrained weights before a run starts, so an unreadable file or one with NaN / Inf in the
 * tensors the graph would load is the user's error at once (E_NONFINITE_WEIGHTS names the tensors),
 * never a run that fails in its process or trains from NaN. The classifier is not loaded from pretrained
 * weights, so its size (set from the dataset later) does not matter here.
 */
async function checkPretrained(doc: ReturnType<typeof parseDocument>, weights: string): Promise<void> {
  try {
    await planFileWeights(analyze(doc.graph).layers, weights);
  } catch (e) {
    if (e instanceof NonFiniteWeightsError) throw new ApiError('E_NONFINITE_WEIGHTS', e.message);
    if (e instanceof CheckpointError) throw new ApiError(e.code, `${weights}: ${e.message}`);
    throw e;
  }
}

export class TrainingService {
  readonly runsDir: string;
  private active = new Map<string, WorkerHandle>();
  /**
   * Step / epoch of the active runs, from their events: the training process is the one writer of run.json
   * while it runs, so the service keeps this in memory rather than writing it.
   */
  private progress = new Map<string, { step?: number; epoch?: number }>();
  /** Renames asked while the run's process writes run.json: applied when it exits. */
  private pendingNames = new Map<string, string>();
  /** Folders whose images the UI may ask thumbnails of (dataset roots the user inspected). */
  private imageRoots = new Set<string>();

  constructor(
    private dataDir: string,
    private emit: Emit,
    private spawn: WorkerSpawner = nodeSpawner,
  ) {
    this.runsDir = join(dataDir, 'runs');
  }

  private runDir(id: string): RunDir {
    let dir: string;
    try {
      dir = runFolder(this.runsDir, id);
    } catch (e) {
      if (e instanceof RunIdError) throw new ApiError('E_BAD_REQUEST', e.message);
      throw e;
    }
    if (!existsSync(join(dir, 'run.json'))) throw new ApiError('E_NOT_FOUND', `no run ${id}`);
    return new RunDir(dir);
  }

  /**
   * Where an evaluation's files are: the run folder (the training-time evaluation) or, with `evalId`, that
   * evaluation record's folder (the same file names: eval.json is its record's results there).
   */
  private evalOf(runId: string, evalId: string | undefined): RunDir {
    const run = this.runDir(runId);
    if (!evalId) return run;
    const dir = evalRecordDir(run.dir, evalId);
    if (!existsSync(join(dir, 'record.json'))) throw new ApiError('E_NOT_FOUND', `run ${runId} has no evaluation ${evalId}`);
    return new RecordDir(dir);
  }

  /** run.json of run `id`; E_NOT_FOUND for a folder that holds no run (deleted while it trained, damaged). */
  private async info(run: RunDir, id: string): Promise<RunInfo> {
    const info = await run.info();
    if (!info) throw new ApiError('E_NOT_FOUND', `no run ${id} (its run.json is missing or incomplete)`);
    const name = this.pendingNames.get(id);
    return name ? { ...info, name } : info;
  }

  /** A short write of run.json by the app, holding the folder's lock; E_RUN_LOCKED while another process writes it. */
  private async writeInfo(run: RunDir, patch: Partial<RunInfo>): Promise<void> {
    try {
      await withRunLock(run.dir, 'app', () => run.updateInfo(patch));
    } catch (e) {
      if (e instanceof RunLockedError) throw new ApiError('E_RUN_LOCKED', e.message);
      throw e;
    }
  }

  /**
   * Images a run's evaluation lists (its query and gallery files) may be served as thumbnails: exactly those
   * files, never a folder around them (a run folder's files can be edited: issue #25, a run.json saying
   * dataset.root "/" widened the allow-list to every image on disk).
   */
  private readonly imagePaths = new Set<string>();
  private allowImage = (path: string): void => {
    this.imagePaths.add(resolve(path));
  };
  /** Whether the absolute `abs` is an image the service may serve (listed by an evaluation or inside a dataset it listed). */
  private imageServed(abs: string): boolean {
    return this.imagePaths.has(abs) || [...this.imageRoots].some((root) => {
      const rel = relative(root, abs);
      return !!rel && !rel.startsWith('..') && !isAbsolute(rel);
    });
  }
  /** The activation-map model (loaded on first use: it imports the engines). */
  private actmaps?: Promise<import('./actmaps.js').RunActmaps>;

  private async summary(info: RunInfo, evalResult?: { mAP?: number; rank1?: number } | null): Promise<RunSummary> {
    const s: RunSummary = {
      id: info.id,
      name: info.name,
      status: this.active.has(info.id) ? 'running' : info.status === 'running' ? 'interrupted' : info.status,
      created: info.created,
      updated: info.updated,
      active: this.active.has(info.id),
    };
    for (const k of ['backend', 'message'] as const) if (typeof info[k] === 'string') s[k] = info[k] as string;
    const ext = info.external as { framework?: string; source?: string; lastChanged?: string | null } | undefined;
    if (ext?.framework && ext.source) s.external = { framework: ext.framework, source: ext.source, lastChanged: ext.lastChanged ?? null };
    const live: Record<string, unknown> = { ...info, ...(this.active.has(info.id) ? this.progress.get(info.id) : {}) };
    for (const k of ['epochs', 'step', 'epoch'] as const) if (typeof live[k] === 'number') s[k] = live[k] as number;
    s.hasCheckpoint = await hasCheckpoint(runFolder(this.runsDir, info.id));
    if (evalResult && typeof evalResult.mAP === 'number') s.mAP = evalResult.mAP;
    if (evalResult && typeof evalResult.rank1 === 'number') s.rank1 = evalResult.rank1;
    return s;
  }

  /** Live follow: imported runs re-read their source folder when it changed (main/external/import-run.ts). */
  private async followExternal(): Promise<void> {
    for (const r of await listRuns(this.runsDir)) if (r.external) await syncExternalRun(runFolder(this.runsDir, r.id)).catch(() => false);
  }

  private launch(id: string, job: TrainJob): void {
    const w = this.spawn();
    this.active.set(id, w);
    let finished = false;
    w.onMessage((m) => {
      if (m.type === 'event') {
        this.emit('train.event', { runId: id, event: m.event });
        if (m.event.type === 'step' || m.event.type === 'epoch') this.progress.set(id, { step: (m.event as { step?: number }).step ?? this.progress.get(id)?.step, epoch: m.event.epoch });
      }
      if (m.type === 'finished') {
        finished = true;
        this.emit('train.exit', { runId: id, status: m.status });
      }
      if (m.type === 'failed') {
        finished = true;
        this.emit('train.exit', { runId: id, status: 'failed', message: m.message, ...(m.code ? { code: m.code } : {}) });
      }
    });
    w.onExit((code, signal, tail) => {
      this.active.delete(id);
      this.progress.delete(id);
      const name = this.pendingNames.get(id);
      if (name) void this.writeInfo(new RunDir(job.runDir), { name }).then(() => this.pendingNames.delete(id)).catch(() => undefined);
      if (finished) return;
      const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const oom = isOutOfMemory(tail) || /heap/i.test(tail);
      const message = `the training process ${why}${oom ? ' — it ran out of memory; lower the micro-batch (training settings) or the input size' : ''}; the run can resume from its last checkpoint`;
      // The process is gone: its lock is stale and the app takes it for this one write.
      if (existsSync(join(job.runDir, 'run.json'))) void this.writeInfo(new RunDir(job.runDir), { status: 'failed', message }).catch(() => undefined);
      this.emit('train.exit', { runId: id, status: 'failed', message, ...(oom ? { code: OUT_OF_MEMORY_CODE } : {}) });
    });
    w.send({ type: 'start', job });
  }

  handlers() {
    return {
      'train.start': async ({ doc, data, weights, name, backend }: CallParsed<'train.start'>): Promise<CallOutput<'train.start'>> => {
        let parsedDoc;
        try {
          parsedDoc = parseDocument(doc);
        } catch (e) {
          if (e instanceof DocumentError) throw new ApiError('E_INVALID_DOCUMENT', e.message);
          throw e;
        }
        const errors = analyze(parsedDoc.graph).diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) throw new ApiError('E_BAD_REQUEST', `the graph has ${errors.length} problem(s): ${errors.map((d) => d.message).join('; ')}`);
        const parsed = parseTrainingSettings(parsedDoc.training ?? {});
        if (!parsed.ok) throw new ApiError('E_BAD_REQUEST', parsed.message);
        try {
          planLoss(parsed.settings);
        } catch (e) {
          if (e instanceof LossConfigError) throw new ApiError('E_BAD_REQUEST', e.message);
          throw e;
        }
        if (weights && !existsSync(weights)) throw new ApiError('E_NOT_FOUND', `${weights}: no such file`);
        if (weights) await checkPretrained(parsedDoc, weights);
        const { id, dir: runDir } = await createRun(this.runsDir, name);
        this.launch(id, { runDir, doc, settings: parsed.settings, data: toArgs(data, this.dataDir), backend, ...(weights ? { weights } : {}) });
        return { runId: id, runDir };
      },
      'train.control': async ({ runId, action }: CallParsed<'train.control'>) => {
        const w = this.active.get(runId);
        if (!w && action === 'stop') {
          // A paused run has no process: stopping it ends it where it is (its checkpoint stays resumable).
          const run = this.runDir(runId);
          const info = await run.readJson<RunInfo>('run.json');
          if (info?.status === 'paused') {
            await this.writeInfo(run, { status: 'stopped' });
            this.emit('train.exit', { runId, status: 'stopped' });
            return { ok: true as const };
          }
        }
        if (!w) throw new ApiError('E_NOT_FOUND', `run ${runId} is not running`);
        w.send({ type: 'control', request: action });
        return { ok: true as const };
      },
      'train.resume': async ({ runId }: CallParsed<'train.resume'>) => {
        if (this.active.has(runId)) throw new ApiError('E_BAD_REQUEST', `run ${runId} is already running`);
        const run = this.runDir(runId);
        let plan;
        try {
          plan = await readResumePlan(run.dir, { label: `run ${runId}`, app: true, dataDir: this.dataDir });
        } catch (e) {
          if (e instanceof RunStateError) throw new ApiError(e.code, e.message);
          if (e instanceof RunLockedError) throw new ApiError('E_RUN_LOCKED', e.message);
          throw e;
        }
        await this.writeInfo(run, { status: 'running', message: undefined });
        this.launch(runId, { runDir: run.dir, doc: plan.doc, settings: plan.settings, data: plan.data, resume: true, ...(plan.backend ? { backend: plan.backend } : {}) });
        return { runId };
      },
      'runs.import': async ({ path, name, data }: CallParsed<'runs.import'>) => {
        try {
          const r = await importTrainingFolder(path, this.runsDir, { ...(name ? { name } : {}), ...(data ? { data } : {}) });
          if (data) this.imageRoots.add(resolve(data));
          return r;
        } catch (e) {
          if (e instanceof ExternalImportError) throw new ApiError('E_BAD_REQUEST', e.message);
          throw e;
        }
      },
      'runs.list': async () => {
        await this.followExternal();
        const runs = await listRuns(this.runsDir);
        return Promise.all(runs.map(async (r) => this.summary({ ...r, ...(this.pendingNames.has(r.id) ? { name: this.pendingNames.get(r.id)! } : {}) }, await new RunDir(runFolder(this.runsDir, r.id)).readJson('eval.json'))));
      },
      'runs.evals': async ({ runId }: CallParsed<'runs.evals'>) => listEvalRecords(this.runDir(runId).dir),
      'runs.get': async ({ runId }: CallParsed<'runs.get'>) => {
        const run = this.runDir(runId);
        await syncExternalRun(run.dir).catch(() => false);
        const info = await this.info(run, runId);
        const evalResult = await run.readJson<Record<string, unknown>>('eval.json');
        let doc: string | null = null;
        try {
          doc = await readTextFile(join(run.dir, 'graph.json'), 'document');
        } catch {
          doc = null;
        }
        return {
          summary: await this.summary(info, evalResult as { mAP?: number } | null),
          info: info as Record<string, unknown>,
          metrics: await run.metrics(),
          eval: evalResult ? Object.fromEntries(Object.entries(evalResult).filter(([k]) => k !== 'queryFiles' && k !== 'galleryFiles')) : null,
          doc,
          settings: await run.readJson<Record<string, unknown>>('settings.json'),
          loadReport: await run.readJson<Record<string, unknown>>('load-report.json'),
          evals: await listEvalRecords(run.dir),
        };
      },
      'runs.rename': async ({ runId, name }: CallParsed<'runs.rename'>) => {
        const run = this.runDir(runId);
        // The run's training process writes run.json while it runs: the new name waits for it to exit.
        if (this.active.has(runId)) this.pendingNames.set(runId, name);
        else await this.writeInfo(run, { name });
        return { ok: true as const };
      },
      'runs.delete': async ({ runId }: CallParsed<'runs.delete'>) => {
        if (this.active.has(runId)) throw new ApiError('E_BAD_REQUEST', `run ${runId} is running; stop it first`);
        const run = this.runDir(runId);
        const lock = await readRunLock(run.dir);
        if (lock?.live) throw new ApiError('E_RUN_LOCKED', new RunLockedError(run.dir, lock.holder).message);
        await rm(run.dir, { recursive: true, force: true });
        return { ok: true as const };
      },
      'runs.compare': async ({ runIds }: CallParsed<'runs.compare'>) => {
        const loaded = await Promise.all(
          runIds.map(async (id) => {
            const run = this.runDir(id);
            const info = await this.info(run, id);
            const evalResult = await run.readJson<Record<string, unknown>>('eval.json');
            const metrics = await run.metrics();
            const terms = (m: Record<string, unknown>) => Object.fromEntries(LOSS_TERM_IDS.flatMap((id) => (typeof m[id] === 'number' ? [[id, m[id]]] : [])));
            const curve = metrics.filter((m) => m.type === 'step').map((m) => ({ step: m.step as number, loss: m.loss as number, acc: m.acc as number, ...terms(m) }));
            let analysis = null;
            try {
              analysis = analyze(parseDocument(await readTextFile(join(run.dir, 'graph.json'), 'document')).graph);
            } catch {
              analysis = null;
            }
            return { id, info, evalResult, curve, analysis, settings: await run.readJson('settings.json'), evals: await listEvalRecords(run.dir) };
          }),
        );
        const first = loaded[0]!;
        return {
          runs: await Promise.all(loaded.map(async (r) => ({
            summary: await this.summary(r.info, r.evalResult as { mAP?: number } | null),
            curve: r.curve,
            eval: r.evalResult ? Object.fromEntries(Object.entries(r.evalResult).filter(([k]) => k !== 'queryFiles' && k !== 'galleryFiles')) : null,
            evals: r.evals,
          }))),
          changes: loaded.slice(1).map((r) => ({
            from: first.id,
            to: r.id,
            model: first.analysis && r.analysis ? diffModels(first.analysis, r.analysis) : [{ kind: 'param', text: 'graph snapshot missing' }],
            settings: diffSettings(first.settings, r.settings),
          })),
        };
      },
      'runs.ranklist': async ({ runId, queries, k, evalId }: CallParsed<'runs.ranklist'>) => {
        const run = this.evalOf(runId, evalId);
        const feats = await readEvalFeatures(run.dir);
        if (!feats) throw new ApiError('E_NOT_FOUND', `run ${runId} has no evaluation yet`);
        for (const r of [...feats.query, ...feats.gallery]) this.allowImage(r.path);
        return feats.rankList(queries, k);
      },
      'runs.queries': async (i: CallParsed<'runs.queries'>) => runQueriesPage(this.evalOf(i.runId, i.evalId), i, this.allowImage),
      'runs.projection': async ({ runId, seed }: CallParsed<'runs.projection'>) => {
        const feats = await readEvalFeatures(this.runDir(runId).dir);
        if (!feats) throw new ApiError('E_NOT_FOUND', `run ${runId} has no evaluation yet`);
        for (const r of [...feats.query, ...feats.gallery]) this.allowImage(r.path);
        return runProjection(feats, seed, (p) => this.emit('projection.progress', { runId, seed, ...p }));
      },
      'runs.compareQueries': async (i: CallParsed<'runs.compareQueries'>) => compareQueriesPage([this.runDir(i.runIds[0]), this.runDir(i.runIds[1])], i, this.allowImage),
      'dataset.inspect': async ({ data }: CallParsed<'dataset.inspect'>) => {
        let ds;
        try {
          ds = await openDataSource({ ...toArgs(data, this.dataDir), k: 4, offThread: true });
        } catch (e) {
          if (e instanceof DatasetError) throw new ApiError(e.code, e.message);
          throw e;
        }
        this.imageRoots.add(resolve(ds.root));
        // Samples: up to 8 identities × their cameras, for the thumbnail grid.
        const byPid = new Map<number, typeof ds.train>();
        for (const r of ds.train) {
          if (!byPid.has(r.pid)) byPid.set(r.pid, []);
          byPid.get(r.pid)!.push(r);
        }
        const samples = [...byPid.values()].slice(0, 8).flatMap((rs) => {
          const perCam = new Map<number, (typeof rs)[number]>();
          for (const r of rs) if (!perCam.has(r.camid)) perCam.set(r.camid, r);
          return [...perCam.values()].slice(0, 4).map((r) => ({ path: r.path, pid: r.pid, camid: r.camid }));
        });
        return {
          kind: ds.kind,
          root: ds.root,
          numClasses: ds.numClasses,
          summary: ds.summary as CallOutput<'dataset.inspect'>['summary'],
          problems: { ...ds.problems, unparsable: ds.problems.unparsable.slice(0, 50), unreadable: ds.problems.unreadable.slice(0, 50), emptyClasses: ds.problems.emptyClasses.slice(0, 50), identitiesDropped: ds.problems.identitiesDropped.slice(0, 50) },
          samples,
        };
      },
      'runs.actmaps': async ({ runId, paths, checkpoint, opacity }: CallParsed<'runs.actmaps'>) => {
        const run = this.runDir(runId);
        const weightsDir = checkpointFolder(run.dir, checkpoint);
        if (!(await hasCheckpoint(weightsDir))) throw new ApiError('E_NOT_FOUND', `run ${runId} has no ${checkpoint === 'best' ? 'best ' : ''}checkpoint yet`);
        const served = paths.filter((p) => this.imageServed(resolve(p)));
        try {
          this.actmaps ??= import('./actmaps.js').then((m) => new m.RunActmaps());
          const r = await (await this.actmaps).pictures(run.dir, served.map((p) => resolve(p)), weightsDir, opacity);
          const byAbs = new Map(r.images.map((i) => [i.path, i.dataUrl]));
          return { ...r, images: paths.map((p) => ({ path: p, dataUrl: byAbs.get(resolve(p)) ?? null })) };
        } catch (e) {
          if (e instanceof CompileError) throw new ApiError('E_BAD_REQUEST', e.message);
          throw e;
        }
      },
      'dataset.thumbnails': async ({ paths }: CallParsed<'dataset.thumbnails'>) =>
        Promise.all(
          paths.map(async (p) => {
            const abs = resolve(p);
            if (!this.imageServed(abs)) return { path: p, dataUrl: null };
            try {
              const buf = await sharp(await readRegularFile(abs, 'image')).resize(48, 96, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer();
              return { path: p, dataUrl: `data:image/jpeg;base64,${buf.toString('base64')}` };
            } catch {
              return { path: p, dataUrl: null };
            }
          }),
        ),
      'backend.status': async () => {
        const { initBackend } = await import('../tfjs/index.js');
        const r = await initBackend('auto');
        const { diagnoseGpu } = await import('../tfjs/gpu.js');
        const g = diagnoseGpu();
        const { onnxRuntimeStatus } = await import('../onnx/runtime.js');
        const o = await onnxRuntimeStatus();
        const { webgpuStatus, WEBGPU_USES } = await import('../onnx/webgpu.js');
        const { chooseEngine } = await import('../onnx/policy.js');
        // The same choice `train` / `eval` make with `auto` (a hardware adapter runs the smoke test, once per process).
        const decide = async (work: 'train' | 'eval') => {
          const d = await chooseEngine('auto', work, { webgpuSupports: WEBGPU_USES.some((u) => u.work === work) });
          return { engine: d.engine === 'tfjs' ? r.backend : d.engine, reason: d.reason, smokeTest: d.webgpu?.smokeTest };
        };
        const engines = { train: await decide('train'), eval: await decide('eval') };
        const w = await webgpuStatus();
        const smoke = engines.eval.smokeTest ?? engines.train.smokeTest;
        const a = w.adapter;
        return {
          backend: r.backend,
          reason: r.reason,
          attempts: r.attempts.map((a) => ({ name: a.name, package: a.package, status: a.status, ...(a.message ? { message: a.message } : {}) })),
          notes: r.notes,
          device: r.device,
          ...(r.gpuFallback ? { gpuFallback: r.gpuFallback } : {}),
          onnxruntime: { available: o.available, threads: o.threads, ...(o.version ? { version: o.version } : {}), ...(o.message ? { message: o.message } : {}) },
          gpu: { ready: g.ready, gpus: g.gpus, cudaRuntimes: g.cudaRuntimes, cudnnLibraries: g.cudnnLibraries, problems: g.problems, fixes: g.fixes },
          webgpu: {
            available: w.available,
            ...(w.message ? { message: w.message } : {}),
            ...(a ? { adapter: { label: a.label, vendor: a.vendor, architecture: a.architecture, device: a.device, driver: a.driver, backend: a.backend, isSoftware: a.isSoftware, maxBufferSize: a.limits.maxBufferSize, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize } } : {}),
            ...(smoke ? { smokeTest: { passed: smoke.passed, ...(smoke.message ? { message: smoke.message } : {}) } } : {}),
          },
          engines: { train: { engine: engines.train.engine, reason: engines.train.reason }, eval: { engine: engines.eval.engine, reason: engines.eval.reason } },
        };
      },
    };
  }

  private table?: ReturnType<TrainingService['handlers']>;
  get table_(): ReturnType<TrainingService['handlers']> {
    return (this.table ??= this.handlers());
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Stops every running training process (app quit): each checkpoints and exits. */
  stopAll(): void {
    for (const w of this.active.values()) w.send({ type: 'control', request: 'stop' });
  }
}

/** Handlers of the training calls that resolve the TrainingService when called (it is built in the Service constructor). */
export function delegateTraining(get: () => TrainingService): ReturnType<TrainingService['handlers']> {
  const keys = Object.keys(trainingCalls) as (keyof typeof trainingCalls)[];
  return Object.fromEntries(keys.map((k) => [k, (input: unknown) => (get().table_[k] as (i: unknown) => Promise<unknown>)(input)])) as unknown as ReturnType<TrainingService['handlers']>;
}
