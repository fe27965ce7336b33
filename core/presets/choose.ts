import { analyze } from '../graph/analyze.js';
import type { GraphDoc } from '../graph/types.js';
import { buildMgnPreset, MGN_PRESET_NAMES } from './mgn.js';
import { buildPreset, type PresetOptions } from './resnet.js';

/**
 * Any preset by name, as "New from preset" creates it: fast-reid's MGN (core/presets/mgn.ts: its own BNNeck
 * heads, so the neck options do not apply) or the ResNet / IBN / SENet / ResNeSt Baselines (buildPreset).
 */
export function buildAnyPreset(name: string, opts: Partial<PresetOptions> = {}): GraphDoc {
  if (!MGN_PRESET_NAMES.includes(name)) return buildPreset(name, opts);
  return buildMgnPreset(name, { ...(opts.lastStride ? { lastStride: opts.lastStride } : {}), ...(opts.numClasses ? { numClasses: opts.numClasses } : {}), ...(opts.input ? { input: opts.input } : {}) });
}

/**
 * Why the preset cannot be built with these options, in the dialog's words, or null. The editor's own
 * check (core/graph/analyze.ts: the registry's parameter bounds, e.g. input 8–2048 px, classes 1–1,000,000,
 * and shape inference, e.g. MGN's stripe cuts) run on the graph the preset would be: one source of truth.
 */
export function presetProblem(name: string, opts: Partial<PresetOptions>): string | null {
  const doc = buildAnyPreset(name, opts);
  const error = analyze(doc.graph).diagnostics.find((d) => d.severity === 'error');
  if (!error) return null;
  const node = doc.graph.nodes.find((n) => n.id === error.nodeId);
  if (node?.kind === 'input') return `input ${error.message}`;
  if (error.code === 'E_INVALID_PARAM' && node?.kind === 'linear') return error.message.replace(/\bunits\b/g, 'classes');
  const size = opts.input ? ` at ${opts.input[0]}×${opts.input[1]}` : '';
  return `${name}${size}: ${error.message}`;
}
