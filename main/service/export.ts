/**
 * Export, once for every host: the format registry (core/api EXPORT_FORMATS names), the refusal check
 * before anything is written, and the writing (single files atomically, folders through
 * main/export/folder.ts). The CLI's `export` command and the `export.check` / `export.run` calls both
 * end here.
 */
import { analyze, compileToKeras, CompileError, serializeDocument, type GraphDoc } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml, fastreidStemConversion } from '../../core/config/index.js';
import { EXPORT_FORMATS, WEIGHT_FORMATS, type ExportFormat } from '../../core/api/ops-contract.js';
import { ExportError, exportModel, rsbLayoutNote, torchNameProblems } from '../export/index.js';
import { forRunWeights, readExportWeights } from '../export/weights-source.js';
import { exportJob, JOB_FORMATS, renderJobConfig, type JobFormat } from '../export/job.js';
import { writeFileAtomic } from '../io/files.js';


export interface ExportRequest {
  format: ExportFormat;
  doc: GraphDoc;
  /** Weights for the model formats (pytorch, tfjs, onnx): a run folder or a .pth / .safetensors file. */
  weights?: string;
  fastreidStem?: boolean;
  /** pytorch: reid-strong-baseline's keys (default) or fast-reid's `{'model': …}` layout. */
  layout?: 'rsb' | 'fastreid';
  /** Training jobs (fastreid-job, rsb-job): GPUs per machine and machines. */
  gpus?: number;
  machines?: number;
}

const isJob = (f: ExportFormat): f is JobFormat => (JOB_FORMATS as readonly string[]).includes(f);

export interface ExportCheck {
  format: ExportFormat;
  ok: boolean;
  refusals: string[];
  warnings: string[];
}

export interface ExportOutcome extends ExportCheck {
  out: string;
  /** Files written: the file itself, or the folder's files (relative to `out`). */
  files: string[];
  weights: { set: number; slots: number } | null;
}

export type ExportStage = 'checking' | 'weights' | 'building' | 'writing' | 'done';

export function isExportFormat(f: string): f is ExportFormat {
  return Object.prototype.hasOwnProperty.call(EXPORT_FORMATS, f);
}

function prepare(r: ExportRequest): { doc: GraphDoc; notes: string[] } {
  if (r.fastreidStem) {
    const c = fastreidStemConversion(r.doc);
    return { doc: c.doc, notes: [c.note] };
  }
  return { doc: r.doc, notes: [] };
}

/** The single-file formats' text, or the refusal reasons (never an approximation). */
function render(format: ExportFormat, doc: GraphDoc): { ok: true; text: string; warnings: string[] } | { ok: false; reasons: string[] } {
  if (format === 'graph') return { ok: true, text: serializeDocument(doc), warnings: [] };
  return format === 'rsb-yaml' ? exportRsbYaml(doc) : exportFastreidYaml(doc);
}

type ModelFormat = 'pytorch' | 'tfjs' | 'onnx';

/** Refusals of the model formats: a graph that does not compile, or names PyTorch cannot hold. */
function modelRefusals(format: ModelFormat, doc: GraphDoc): string[] {
  let compiled;
  try {
    compiled = compileToKeras(analyze(doc.graph));
  } catch (e) {
    if (e instanceof CompileError) return [`the graph cannot be exported: ${e.message}`];
    throw e;
  }
  if (format === 'pytorch') {
    const problems = torchNameProblems(compiled.layers);
    if (problems.length) return [`the graph cannot be exported to PyTorch: ${problems.join('; ')}`];
  }
  return [];
}

/**
 * What `format` refuses for this graph and what it will note, without writing. YAML formats refuse
 * features the framework cannot express (core/config); model formats refuse graphs that do not compile.
 */
export async function checkExport(r: ExportRequest): Promise<ExportCheck> {
  const { doc, notes } = prepare(r);
  if (isJob(r.format)) {
    const cfg = renderJobConfig(r.format, doc, { weights: !!r.weights });
    return cfg.ok ? { format: r.format, ok: true, refusals: [], warnings: [...notes, ...cfg.warnings] } : { format: r.format, ok: false, refusals: cfg.reasons, warnings: notes };
  }
  if (EXPORT_FORMATS[r.format].weights) {
    const refusals = modelRefusals(r.format as ModelFormat, doc);
    // Said before Export: the classifier a run's weights bring (sized to the run's training identities).
    const sized = await forRunWeights(doc, r.weights);
    const layoutNote = r.format === 'pytorch' && (r.layout ?? 'rsb') === 'rsb' ? rsbLayoutNote(doc) : null;
    return { format: r.format, ok: !refusals.length, refusals, warnings: [...notes, ...(layoutNote ? [layoutNote] : []), ...sized.notes] };
  }
  const out = render(r.format, doc);
  return out.ok ? { format: r.format, ok: true, refusals: [], warnings: [...notes, ...out.warnings] } : { format: r.format, ok: false, refusals: out.reasons, warnings: notes };
}

/**
 * Writes the export to `out` (a file; a folder for pytorch / tfjs, replaced only when it is empty or holds
 * only an earlier export's files). A refusal returns `ok: false` and writes nothing; I/O and weight
 * problems throw ExportError with a user message.
 */
export async function runExport(r: ExportRequest, out: string, onStage: (s: ExportStage) => void = () => undefined): Promise<ExportOutcome> {
  onStage('checking');
  if (r.weights && !EXPORT_FORMATS[r.format].weights) throw new ExportError(`weights apply to the formats ${WEIGHT_FORMATS.join(', ')}, not to ${r.format}`);
  const prepared = prepare(r);
  const { notes } = prepared;
  let { doc } = prepared;
  if (!EXPORT_FORMATS[r.format].weights) {
    const res = render(r.format, doc);
    if (!res.ok) return { format: r.format, ok: false, refusals: res.reasons, warnings: notes, out, files: [], weights: null };
    onStage('writing');
    try {
      await writeFileAtomic(out, res.text);
    } catch (e) {
      throw new ExportError(`cannot write ${out}: ${(e as Error).message}`);
    }
    onStage('done');
    return { format: r.format, ok: true, refusals: [], warnings: [...notes, ...res.warnings], out, files: [out], weights: null };
  }
  if (isJob(r.format)) return runJobExport(r.format, r, doc, notes, out, onStage);
  const format = r.format as ModelFormat;
  const refusals = modelRefusals(format, doc);
  if (refusals.length) return { format, ok: false, refusals, warnings: notes, out, files: [], weights: null };
  const warnings = [...notes];
  const req = await requestWeights(r, doc, warnings, onStage);
  doc = req.doc;
  const weights = req.weights;
  onStage('building');
  // The key layout is a pytorch option (the contract defaults it to 'rsb' for every format).
  const res = await exportModel(doc, format, out, { ...weights, ...(format === 'pytorch' && r.layout ? { layout: r.layout } : {}) });
  onStage('done');
  return { format, ok: true, refusals: [], warnings: [...warnings, ...res.warnings], out, files: res.files, weights: res.weights };
}

/**
 * The request's weights (a run folder or a file) for the graph's layers, with the graph's classifier sized
 * to a run's training identities first (forRunWeights); their load notes go to `warnings`.
 */
async function requestWeights(r: ExportRequest, doc: GraphDoc, warnings: string[], onStage: (s: ExportStage) => void): Promise<{ doc: GraphDoc; weights?: { weights: Map<string, Float32Array> } | { torchWeights: Map<string, Float32Array> } }> {
  if (!r.weights) return { doc };
  onStage('weights');
  const sized = await forRunWeights(doc, r.weights);
  warnings.push(...sized.notes);
  const w = await readExportWeights(r.weights, analyze(sized.doc.graph).layers);
  warnings.push(...w.warnings);
  // PyTorch layout as read (the exports take it through the weight store without a relayout).
  return { doc: sized.doc, weights: w.torch ? { torchWeights: w.torch } : { weights: w.values } };
}

/** A training job folder (main/export/job.ts): the config's refusals first, then weights, then the folder. */
async function runJobExport(format: JobFormat, r: ExportRequest, doc: GraphDoc, notes: string[], out: string, onStage: (s: ExportStage) => void): Promise<ExportOutcome> {
  const cfg = renderJobConfig(format, doc, { weights: !!r.weights });
  if (!cfg.ok) return { format, ok: false, refusals: cfg.reasons, warnings: notes, out, files: [], weights: null };
  const warnings = [...notes];
  const req = await requestWeights(r, doc, warnings, onStage);
  const weights = req.weights;
  onStage('writing');
  const res = await exportJob(req.doc, format, out, { ...(r.gpus ? { gpus: r.gpus } : {}), ...(r.machines ? { machines: r.machines } : {}), ...weights });
  onStage('done');
  return { format, ok: true, refusals: [], warnings: [...warnings, ...res.warnings], out, files: res.files, weights: null };
}
