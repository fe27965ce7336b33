import { readTextFileSync } from '../io/files.js';
import {
  analyze,
  buildPreset,
  buildFastreidPreset,
  FR_PRESET_NAMES,
  FR_PRESETS_WITH_INPUT,
  DocumentError,
  freezeBackbone,
  applyCommand,
  isPresetName,
  parseDocument,
  ALL_PRESET_NAMES,
  type GraphDoc,
  type PresetOptions,
} from '../../core/index.js';
import { CliError } from './errors.js';
import { parseWholeNumber } from './numbers.js';

/** Options shared by every command that takes `[GRAPH.json | --preset NAME …preset options]`. */
export const GRAPH_OPTIONS = {
  preset: { type: 'string' },
  neck: { type: 'string' },
  'neck-feat': { type: 'string' },
  'last-stride': { type: 'string' },
  'num-classes': { type: 'string' },
  input: { type: 'string' },
  'freeze-backbone': { type: 'boolean' },
} as const;

export interface GraphArgs {
  preset?: string;
  neck?: string;
  'neck-feat'?: string;
  'last-stride'?: string;
  'num-classes'?: string;
  input?: string;
  'freeze-backbone'?: boolean;
}

function oneOf<T extends string>(flag: string, v: string | undefined, options: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!options.includes(v as T)) throw new CliError(`--${flag} must be one of ${options.join(', ')} (got "${v}")`);
  return v as T;
}

export function parseInputSize(v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(v.trim());
  if (!m) throw new CliError(`--input must be HxW, e.g. 256x128 (got "${v}")`);
  const hw: [number, number] = [Number(m[1]), Number(m[2])];
  if (hw.some((x) => x < 8 || x > 2048)) throw new CliError(`--input sizes must be between 8 and 2048 (got "${v}")`);
  return hw;
}

export function readGraphFile(path: string): GraphDoc {
  let text: string;
  try {
    text = readTextFileSync(path, 'document');
  } catch (e) {
    throw new CliError(`cannot read ${(e as Error).message}`);
  }
  try {
    return parseDocument(text);
  } catch (e) {
    if (e instanceof DocumentError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Resolves the graph a command works on: a document file, or a preset with its options. */
const PRESET_FLAGS = ['neck', 'neck-feat', 'last-stride', 'num-classes', 'input'] as const;

export function resolveGraph(file: string | undefined, a: GraphArgs, opts: { requireValid?: boolean } = {}): GraphDoc {
  let doc: GraphDoc;
  if (file && a.preset) throw new CliError('give either a graph file or --preset, not both');
  if (file) {
    const used = PRESET_FLAGS.filter((f) => a[f] !== undefined);
    if (used.length) throw new CliError(`--${used[0]} applies to --preset only; edit the graph file instead`);
    doc = readGraphFile(file);
  } else {
    const name = a.preset ?? 'resnet50';
    if (FR_PRESET_NAMES.includes(name)) return finishGraph(fastreidPreset(name, a), a, opts);
    if (!isPresetName(name)) throw new CliError(`unknown preset "${name}" (choose one of ${[...ALL_PRESET_NAMES, ...FR_PRESET_NAMES].join(', ')})`);
    const o: Partial<PresetOptions> = {};
    const neck = oneOf('neck', a.neck, ['bnneck', 'no'] as const);
    if (neck) o.neck = neck;
    const nf = oneOf('neck-feat', a['neck-feat'], ['after', 'before'] as const);
    if (nf) o.neckFeat = nf;
    const ls = oneOf('last-stride', a['last-stride'], ['1', '2'] as const);
    if (ls) o.lastStride = Number(ls) as 1 | 2;
    if (a['num-classes'] !== undefined) {
      o.numClasses = parseWholeNumber('num-classes', a['num-classes'], 1, 1_000_000);
    }
    if (a.input !== undefined) o.input = parseInputSize(a.input);
    doc = buildPreset(name, o);
  }
  return finishGraph(doc, a, opts);
}

/**
 * A fast-reid recipe preset (core/presets/fastreid.ts): its graph is the recipe's, so the shape flags do not
 * apply — except `--input` on fast-reid's MGN, which sets INPUT.SIZE_TRAIN as a fast-reid config would. A size
 * whose layer4 map torch.chunk cannot cut into MGN's 2 and 3 stripes (fast-reid's forward would fail) is refused
 * with the graph's reason.
 */
function fastreidPreset(name: string, a: GraphArgs): GraphDoc {
  const takesInput = FR_PRESETS_WITH_INPUT.includes(name);
  const used = PRESET_FLAGS.filter((f) => a[f] !== undefined && !(f === 'input' && takesInput));
  if (used.length) throw new CliError(`--${used[0]} does not apply to the fast-reid recipe preset ${name} (its graph is the recipe's)`);
  if (a.input === undefined) return buildFastreidPreset(name);
  const doc = buildFastreidPreset(name, undefined, parseInputSize(a.input));
  const errors = analyze(doc.graph).diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new CliError(`--input ${a.input} does not fit ${name}: ${errors[0]!.message}`);
  return doc;
}

function finishGraph(graph: GraphDoc, a: GraphArgs, opts: { requireValid?: boolean }): GraphDoc {
  let doc = graph;
  if (a['freeze-backbone']) doc = applyCommand(doc, freezeBackbone(true));
  if (opts.requireValid) {
    const errors = analyze(doc.graph).diagnostics.filter((d) => d.severity === 'error');
    if (errors.length)
      throw new CliError(`the graph has ${errors.length} problem(s): ${errors.map((d) => `[${d.code}] ${d.message}`).join('; ')}`);
  }
  return doc;
}
