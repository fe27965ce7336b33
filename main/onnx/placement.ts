/**
 * Node placement: which execution provider runs each node of a session's (optimised) graph. onnxruntime
 * prints it as "Node placements" on stderr at log level 0 (from native code, out of reach of the process
 * that made the session); its per-node profile is a JSON file whose node events carry `args.provider` and
 * `args.op_name` (onnxruntime `core/common/profiler.cc`, `SequentialExecutor`), so one profiled run gives
 * the placement a caller can read. Used by the tests that assert that no node of the zoo's graphs falls
 * back to the CPU on the WebGPU engine, and by benchmarks.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime, ortSessionOptions, OnnxRuntimeError, type OrtExecutionProvider, type OrtSessionOptionsInput } from './runtime.js';

export interface PlacedNode {
  /** The node's name in the optimised graph (onnxruntime's fused / inserted nodes have their own). */
  name: string;
  op: string;
  /** `WebGpuExecutionProvider`, `CPUExecutionProvider`, … */
  provider: string;
}

export interface Placement {
  nodes: PlacedNode[];
  /** Nodes per provider. */
  byProvider: Record<string, number>;
  /** Nodes not on the session's own execution provider (onnxruntime's CPU fallback), by op. */
  fallback: Record<string, number>;
  /** The run's outputs (float32, copied off the device). */
  outputs?: Record<string, Float32Array>;
}

const PROVIDER: Record<OrtExecutionProvider, string> = { cpu: 'CPUExecutionProvider', webgpu: 'WebGpuExecutionProvider' };

/** Placement from the events of an onnxruntime profile (pure). Node events are `cat: "Node"`, named `<node>_kernel_time`. */
export function placementOf(events: { cat?: string; name?: string; args?: { op_name?: string; provider?: string } }[], ep: OrtExecutionProvider): Placement {
  const seen = new Map<string, PlacedNode>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.provider) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!seen.has(name)) seen.set(name, { name, op: e.args.op_name ?? '?', provider: e.args.provider });
  }
  const nodes = [...seen.values()];
  const byProvider: Record<string, number> = {};
  const fallback: Record<string, number> = {};
  for (const n of nodes) {
    byProvider[n.provider] = (byProvider[n.provider] ?? 0) + 1;
    if (n.provider !== PROVIDER[ep]) fallback[n.op] = (fallback[n.op] ?? 0) + 1;
  }
  return { nodes, byProvider, fallback };
}

/**
 * Runs `model` once on `ep` with `feeds` under onnxruntime's profiler and returns where each node ran (and
 * the outputs).
 * The profile file goes to a fresh temporary folder that is removed afterwards.
 */
export async function nodePlacement(model: Uint8Array, ep: OrtExecutionProvider, feeds: (ort: typeof Ort) => Record<string, Ort.Tensor>, options: OrtSessionOptionsInput = {}): Promise<Placement> {
  const { ort, status } = await loadOnnxRuntime();
  if (!ort) throw new OnnxRuntimeError(`the onnxruntime engine is not available: ${status.message}`);
  const dir = mkdtempSync(join(tmpdir(), 'reid-ort-profile-'));
  try {
    const session = await ort.InferenceSession.create(model, ortSessionOptions(ep, { ...options, profileFilePrefix: join(dir, 'profile') }));
    const outputs: Record<string, Float32Array> = {};
    try {
      const out = await session.run(feeds(ort));
      for (const [k, t] of Object.entries(out)) if (t.type === 'float32') outputs[k] = Float32Array.from(t.data as Float32Array);
      session.endProfiling();
    } finally {
      await session.release();
    }
    const events = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as never[]);
    return { ...placementOf(events, ep), outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
