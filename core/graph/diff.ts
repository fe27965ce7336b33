/**
 * What changed between two models (and their training settings), in words a user recognises:
 * "base.layer1–3 bn1: BN → IBN-a (13 layers)", "backbone frozen", "neck: BNNeck → none",
 * "input 256×128 → 384×128". Compares the flattened layers (what is trained), not canvas positions, so
 * expanding a stage or moving a node is not a change.
 */
import type { Analysis } from './analyze.js';
import type { Layer } from './evaluate.js';

export interface GraphChange {
  kind: 'norm' | 'freeze' | 'stats' | 'param' | 'added' | 'removed' | 'input' | 'head' | 'setting';
  text: string;
}

const NORM_LABEL: Record<string, string> = { batch_norm: 'BN', ibn_a: 'IBN-a', instance_norm: 'IN' };

/** "base.layer1.0.bn1" → group "base.layer1 bn1"; groups collapse to ranges like "base.layer1–3 bn1". */
function groupName(name: string): { stage: string; slot: string } {
  const m = /^(.*?layer)(\d+)\.\d+\.(.+)$/.exec(name);
  if (m) return { stage: `${m[1]}${m[2]}`, slot: m[3]! };
  return { stage: name, slot: '' };
}

function rangeText(names: string[]): string {
  const groups = new Map<string, Set<number>>();
  const others: string[] = [];
  for (const n of names) {
    const m = /^(.*?layer)(\d+)( .+)?$/.exec(n);
    if (!m) {
      others.push(n);
      continue;
    }
    const key = `${m[1]}\u0000${m[3] ?? ''}`;
    if (!groups.has(key)) groups.set(key, new Set());
    groups.get(key)!.add(Number(m[2]));
  }
  const parts: string[] = [];
  for (const [key, set] of groups) {
    const [prefix, suffix] = key.split('\u0000') as [string, string];
    const nums = [...set].sort((a, b) => a - b);
    const runs: string[] = [];
    for (let i = 0; i < nums.length; ) {
      let j = i;
      while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
      runs.push(i === j ? `${nums[i]}` : `${nums[i]}–${nums[j]}`);
      i = j + 1;
    }
    parts.push(`${prefix}${runs.join(',')}${suffix}`);
  }
  return [...parts, ...others].join(', ');
}

function describeParams(l: Layer): string {
  return Object.entries(l.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function diffModels(a: Analysis, b: Analysis): GraphChange[] {
  const changes: GraphChange[] = [];
  const la = new Map(a.layers.map((l) => [l.name, l]));
  const lb = new Map(b.layers.map((l) => [l.name, l]));
  if (a.inputShape && b.inputShape && a.inputShape.join('×') !== b.inputShape.join('×'))
    changes.push({ kind: 'input', text: `input ${a.inputShape.slice(0, 2).join('×')} → ${b.inputShape.slice(0, 2).join('×')}` });
  const normChanges = new Map<string, string[]>();
  const frozen: string[] = [];
  const unfrozen: string[] = [];
  const statsOn: string[] = [];
  const statsOff: string[] = [];
  // reid-strong-baseline's LAST_STRIDE: the first block of the last stage (its downsample conv strides too).
  const lastStage = [...la.keys()].filter((n) => /^base\.layer\d+\.0\.downsample\.0$/.test(n)).sort().pop();
  const lsA = lastStage && la.get(lastStage)?.params.stride;
  const lsB = lastStage && lb.get(lastStage)?.params.stride;
  const lastStagePrefix = lastStage?.replace(/downsample\.0$/, '');
  if (lastStage && lsB !== undefined && lsA !== lsB) changes.push({ kind: 'param', text: `last stride ${lsA} → ${lsB}` });
  for (const [name, x] of la) {
    const y = lb.get(name);
    if (!y || name === 'input') continue;
    if (lastStagePrefix && lsA !== lsB && name.startsWith(lastStagePrefix) && x.kind === 'conv2d' && x.params.stride !== y.params.stride) continue;
    if (x.kind !== y.kind && NORM_LABEL[x.kind] && NORM_LABEL[y.kind]) {
      const key = `${NORM_LABEL[x.kind]} → ${NORM_LABEL[y.kind]}`;
      const g = groupName(name);
      if (!normChanges.has(key)) normChanges.set(key, []);
      normChanges.get(key)!.push(g.slot ? `${g.stage} ${g.slot}` : g.stage);
      continue;
    }
    if (x.kind !== y.kind) changes.push({ kind: 'param', text: `${name}: ${x.kind} → ${y.kind}` });
    else {
      const px = describeParams(x);
      const py = describeParams(y);
      if (px !== py) {
        const diffs = Object.keys({ ...x.params, ...y.params })
          .filter((k) => x.params[k] !== y.params[k])
          .map((k) => `${k} ${x.params[k]} → ${y.params[k]}`);
        changes.push({ kind: name === 'classifier' ? 'head' : 'param', text: `${name}: ${diffs.join(', ')}` });
      }
    }
    if (x.paramCount > 0 && x.frozen !== y.frozen) (y.frozen ? frozen : unfrozen).push(name);
    if (NORM_LABEL[x.kind] && x.kind === y.kind && x.statsFrozen !== y.statsFrozen && x.frozen === y.frozen) (y.statsFrozen ? statsOn : statsOff).push(name);
  }
  for (const [key, names] of normChanges) {
    const uniq = [...new Set(names)];
    changes.push({ kind: 'norm', text: `${rangeText(uniq)}: ${key} (${names.length} layer${names.length === 1 ? '' : 's'})` });
  }
  const stageOf = (names: string[]) => [...new Set(names.map((n) => groupName(n).stage.replace(/^(base\.layer\d+).*$/, '$1').replace(/^base\.(conv1|bn1)$/, 'base.stem')))];
  const backbone = a.layers.filter((l) => l.name.startsWith('base.') && l.paramCount > 0).map((l) => l.name);
  if (frozen.length) changes.push({ kind: 'freeze', text: backbone.length && backbone.every((n) => frozen.includes(n) || lb.get(n)?.frozen) && frozen.some((n) => n.startsWith('base.')) ? `backbone frozen${frozen.some((n) => !n.startsWith('base.')) ? ' (and head layers)' : ''}` : `frozen: ${rangeText(stageOf(frozen))}` });
  if (unfrozen.length) changes.push({ kind: 'freeze', text: `unfrozen: ${rangeText(stageOf(unfrozen))}` });
  if (statsOn.length) changes.push({ kind: 'stats', text: `BN statistics frozen: ${rangeText(stageOf(statsOn))}` });
  if (statsOff.length) changes.push({ kind: 'stats', text: `BN statistics updating: ${rangeText(stageOf(statsOff))}` });
  const added = b.layers.filter((l) => !la.has(l.name));
  const removed = a.layers.filter((l) => !lb.has(l.name));
  const neckA = la.has('bottleneck') && la.get('bottleneck')!.kind === 'batch_norm';
  const neckB = lb.has('bottleneck') && lb.get('bottleneck')!.kind === 'batch_norm';
  if (neckA !== neckB) changes.push({ kind: 'head', text: `neck: ${neckA ? 'BNNeck' : 'none'} → ${neckB ? 'BNNeck' : 'none'}` });
  if (a.outputs.evalFeature !== b.outputs.evalFeature && neckA === neckB)
    changes.push({ kind: 'head', text: `eval feature: ${a.outputs.evalFeature === 'bottleneck' ? 'after' : 'before'} BN → ${b.outputs.evalFeature === 'bottleneck' ? 'after' : 'before'} BN` });
  const stemRelu = (ls: Layer[]) => ls.some((l) => l.name === 'base.relu');
  if (stemRelu(a.layers) !== stemRelu(b.layers)) changes.push({ kind: 'param', text: `stem ReLU ${stemRelu(b.layers) ? 'added (IBN-a / torchvision stem)' : 'removed (reid-strong-baseline plain-ResNet stem)'}` });
  const structural = (ls: Layer[]) => ls.filter((l) => l.name !== 'bottleneck' && l.name !== 'base.relu');
  if (structural(added).length) changes.push({ kind: 'added', text: `added ${structural(added).length} layer(s): ${rangeText(stageOf(structural(added).map((l) => l.name)))}` });
  if (structural(removed).length) changes.push({ kind: 'removed', text: `removed ${structural(removed).length} layer(s): ${rangeText(stageOf(structural(removed).map((l) => l.name)))}` });
  if (a.totals.params !== b.totals.params) changes.push({ kind: 'param', text: `parameters ${a.totals.params.toLocaleString('en-US')} → ${b.totals.params.toLocaleString('en-US')}` });
  return changes;
}

/** Differences between two training-settings objects as "path: a → b" lines. */
export function diffSettings(a: unknown, b: unknown, path = ''): GraphChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    return keys.flatMap((k) => diffSettings((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  const show = (x: unknown) => (x === undefined ? '(unset)' : JSON.stringify(x));
  return [{ kind: 'setting', text: `${path}: ${show(a)} → ${show(b)}` }];
}
