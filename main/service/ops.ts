/**
 * Export, config import, evaluation and weights inspection in the service (the `export.*`, `config.import`,
 * `eval.run` and `weights.inspect` calls). Evaluations run in the training process kind (a forked Node
 * process, Electron's utilityProcess), never on the service's event loop, and stream `eval.progress`.
 */
import { checkpointFolder } from '../runs/store/best-checkpoint.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApiError, type ApiErrorCode, type CallOutput, type CallParsed, type EventName, type EventPayload, type GraphSource, type WeightsSource } from '../../core/api/contract.js';
import { FRAMEWORK_LABEL } from '../../core/config/index.js';
import { analyze, DocumentError, parseDocument, serializeDocument, type GraphDoc } from '../../core/index.js';
import { ExportError } from '../export/errors.js';
import { withRunSettings } from '../export/weights-source.js';
import type { EvalJob, EvalJobResult } from '../runs/jobs.js';
import { nodeSpawner, type WorkerSpawner } from '../runs/process.js';
import type { DataSourceArgs } from '../training/sources.js';
import type { CheckpointInspection } from '../weights/index.js';
import { workerEntry } from '../training/data/worker-url.js';
import { Worker } from 'node:worker_threads';
import { ConfigImportError, importConfigFile } from './config-import.js';
import { checkExport, runExport } from './export.js';
import { toArgs } from './training.js';

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

const newJobId = (): string => `job-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

export class OpsService {
  /** Runs whose folder an evaluation is writing (eval.json, eval features): one writer at a time. */
  private evaluatingRuns = new Set<string>();

  constructor(
    private runsDir: string,
    private emit: Emit,
    /** Whether a run's training process is running (its folder then has that one writer). */
    private isActive: (runId: string) => boolean,
    private spawn: WorkerSpawner = nodeSpawner,
  ) {}

  private runFolder(runId: string): string {
    const dir = join(this.runsDir, runId);
    if (!existsSync(join(dir, 'run.json'))) throw new ApiError('E_NOT_FOUND', `no run ${runId}`);
    return dir;
  }

  /** The graph document of a source: the editor's text, or the run's graph snapshot. */
  private async graph(g: GraphSource): Promise<{ doc: GraphDoc; text: string; runDir?: string }> {
    let text: string;
    let runDir: string | undefined;
    if (g.kind === 'doc') text = g.text;
    else {
      runDir = this.runFolder(g.runId);
      try {
        text = await readFile(join(runDir, 'graph.json'), 'utf8');
      } catch {
        throw new ApiError('E_NOT_FOUND', `run ${g.runId} has no graph snapshot (graph.json)`);
      }
    }
    try {
      return { doc: parseDocument(text), text, ...(runDir ? { runDir } : {}) };
    } catch (e) {
      if (e instanceof DocumentError) throw new ApiError('E_INVALID_DOCUMENT', e.message);
      throw e;
    }
  }

  /** The document an export renders: a run's graph with the run's training settings for configs and jobs (withRunSettings). */
  private async exportDoc(g: GraphSource, format: string): Promise<GraphDoc> {
    const { doc, runDir } = await this.graph(g);
    return withRunSettings(doc, runDir, format);
  }

  /** A weights choice as a path for the one resolver (a run folder or a file), or undefined for none. */
  private weightsPath(w: WeightsSource): string | undefined {
    if (w.kind === 'none') return undefined;
    if (w.kind === 'run') {
      const dir = checkpointFolder(this.runFolder(w.runId), w.checkpoint);
      if (!existsSync(join(dir, 'checkpoint', 'manifest.json')) && !existsSync(join(dir, 'checkpoint.prev', 'manifest.json')))
        throw new ApiError('E_BAD_REQUEST', `run ${w.runId} has no ${w.checkpoint === 'best' ? 'best checkpoint yet (it is kept when an evaluation lands during training)' : 'checkpoint yet'}`);
      return dir;
    }
    return w.path;
  }

  handlers() {
    return {
      'export.check': async ({ format, graph, weights, fastreidStem }: CallParsed<'export.check'>): Promise<CallOutput<'export.check'>> => {
        const doc = await this.exportDoc(graph, format);
        const weightsPath = this.weightsPath(weights);
        return checkExport({ format, doc, fastreidStem, ...(weightsPath ? { weights: weightsPath } : {}) });
      },
      'export.run': async ({ format, graph, weights, fastreidStem, layout, gpus, machines, out, jobId }: CallParsed<'export.run'>): Promise<CallOutput<'export.run'>> => {
        const id = jobId ?? newJobId();
        const doc = await this.exportDoc(graph, format);
        const weightsPath = this.weightsPath(weights);
        try {
          const r = await runExport({ format, doc, fastreidStem, layout, ...(gpus ? { gpus } : {}), ...(machines ? { machines } : {}), ...(weightsPath ? { weights: weightsPath } : {}) }, out, (stage) => this.emit('export.progress', { jobId: id, stage }));
          if (!r.ok) this.emit('export.progress', { jobId: id, stage: 'failed', message: r.refusals.join('; ') });
          return r;
        } catch (e) {
          if (!(e instanceof ExportError)) throw e;
          this.emit('export.progress', { jobId: id, stage: 'failed', message: e.message });
          throw new ApiError('E_IO', e.message);
        }
      },
      'config.import': async ({ path }: CallParsed<'config.import'>): Promise<CallOutput<'config.import'>> => {
        try {
          const r = importConfigFile(path);
          return { text: serializeDocument(r.doc), framework: r.framework, frameworkLabel: FRAMEWORK_LABEL[r.framework], ignored: r.ignored, warnings: r.warnings };
        } catch (e) {
          if (e instanceof ConfigImportError) throw new ApiError('E_BAD_REQUEST', e.message);
          throw e;
        }
      },
      'eval.run': async ({ graph, weights, data, metric, reRanking, backend, jobId }: CallParsed<'eval.run'>): Promise<CallOutput<'eval.run'>> => {
        const id = jobId ?? newJobId();
        const g = await this.graph(graph);
        const errors = analyze(g.doc.graph).diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) throw new ApiError('E_BAD_REQUEST', `the graph has ${errors.length} problem(s): ${errors.map((d) => d.message).join('; ')}`);
        if (graph.kind === 'run' && this.isActive(graph.runId)) throw new ApiError('E_BAD_REQUEST', `run ${graph.runId} is training; evaluate it when it has stopped`);
        if (!g.runDir && !data) throw new ApiError('E_BAD_REQUEST', 'choose a dataset to evaluate on');
        const weightsPath = this.weightsPath(weights);
        if (weightsPath && weights.kind === 'file' && !existsSync(weightsPath)) throw new ApiError('E_NOT_FOUND', `${weightsPath}: no such file`);
        // A run's own weights evaluated by the service: the result is kept as a new evaluation record of the run
        // (runs.evals), beside its training-time evaluation, which it never replaces.
        const saveToRun = !!g.runDir && (weights.kind === 'none' || (weights.kind === 'run' && graph.kind === 'run' && weights.runId === graph.runId));
        // runsDir is `<dataDir>/runs`: the demo cache lives under the same data folder.
        const dataArgs: DataSourceArgs | null = data ? toArgs(data, dirname(this.runsDir)) : null;
        const job: EvalJob = { doc: g.text, data: dataArgs, reRanking, backend, saveToRun, ...(metric ? { metric } : {}), ...(g.runDir ? { runDir: g.runDir } : {}), ...(weightsPath && (!saveToRun || (weights.kind === 'run' && weights.checkpoint === 'best')) ? { weights: weightsPath } : {}) };
        const runId = graph.kind === 'run' && saveToRun ? graph.runId : null;
        if (runId && this.evaluatingRuns.has(runId)) throw new ApiError('E_BAD_REQUEST', `run ${runId} is already being evaluated`);
        if (runId) this.evaluatingRuns.add(runId);
        const result = await this.evalInProcess(id, job).finally(() => runId && this.evaluatingRuns.delete(runId));
        return { ...result, jobId: id, ...(result.adapter ? { adapter: result.adapter } : {}), weights: { source: String(result.weights.source), ...(typeof result.weights.step === 'number' ? { step: result.weights.step } : {}) }, savedToRun: saveToRun && !result.saveError };
      },
      'weights.inspect': async ({ path, graph, keepClassifier }: CallParsed<'weights.inspect'>): Promise<CallOutput<'weights.inspect'>> => {
        const doc = graph ? (await this.graph(graph)).doc : null;
        // Read and mapped in a worker thread (never on the service's event loop), a few at a time.
        const r = await this.inspections.run(() => inspectInWorker(path, doc ? doc.graph : null, keepClassifier));
        if (!r.ok) throw r.code ? new ApiError(r.code as ApiErrorCode, r.message.includes(path) ? r.message : `${path}: ${r.message}`) : new Error(r.message);
        return r.result;
      },
    };
  }

  /** weights.inspect calls in flight: at most two worker threads read checkpoints at once (the rest wait). */
  private readonly inspections = new Limiter(2);

  /** Runs one evaluation in a fresh training process and forwards its progress as `eval.progress`. */
  private evalInProcess(jobId: string, job: EvalJob): Promise<EvalJobResult> {
    return new Promise((resolve, reject) => {
      const w = this.spawn();
      let settled = false;
      const fail = (message: string, code?: string) => {
        if (settled) return;
        settled = true;
        this.emit('eval.progress', { jobId, stage: 'failed', done: 0, total: 0, message });
        // A dataset / weights problem keeps its own code (E_DATASET_*, E_*_CHECKPOINT); anything else is a
        // request the evaluation could not serve.
        reject(new ApiError((code ?? 'E_BAD_REQUEST') as ApiErrorCode, message));
      };
      w.onMessage((m) => {
        if (m.type === 'eval-progress') this.emit('eval.progress', { jobId, stage: m.stage, done: m.done, total: m.total });
        if (m.type === 'eval-finished' && !settled) {
          settled = true;
          this.emit('eval.progress', { jobId, stage: 'done', done: 1, total: 1 });
          resolve(m.result);
        }
        if (m.type === 'failed') fail(`evaluation failed: ${m.message}`, m.code);
      });
      w.onExit((code, signal, tail) => {
        const oom = /out of memory|heap|allocation failed/i.test(tail) ? ' — it ran out of memory' : '';
        fail(`the evaluation process ${signal ? `was killed (${signal})` : `exited with code ${code}`}${oom}`);
      });
      w.send({ type: 'eval', job });
    });
  }
}

type InspectOutcome = { ok: true; result: CheckpointInspection } | { ok: false; message: string; code: string | null };

/** One checkpoint inspection in a fresh worker thread (main/service/weights-worker.ts). */
function inspectInWorker(path: string, graph: GraphDoc['graph'] | null, keepClassifier: boolean): Promise<InspectOutcome> {
  const { url, execArgv } = workerEntry('weights-worker', new URL('./weights-worker.ts', import.meta.url));
  return new Promise((resolve) => {
    const w = new Worker(url, { workerData: { path, graph, keepClassifier }, execArgv });
    let done = false;
    const settle = (o: InspectOutcome) => {
      if (done) return;
      done = true;
      resolve(o);
      void w.terminate();
    };
    w.once('message', settle);
    w.once('error', (e) => settle({ ok: false, message: `cannot inspect the checkpoint: ${e.message.split('\n')[0]}`, code: /memory/i.test(e.message) ? 'E_CHECKPOINT_TOO_LARGE' : null }));
    w.once('exit', (code) => settle({ ok: false, message: `the checkpoint reader exited with code ${code}`, code: null }));
  });
}

/** Runs at most `max` tasks at once; the others wait in order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter.
    if (this.active >= this.max) await new Promise<void>((ok) => this.waiting.push(ok));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
