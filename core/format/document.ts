import { z } from 'zod';
import { DOC_FORMAT, DOC_VERSION, type GraphDoc, type GraphNode, type GraphEdge, type GroupInfo } from '../graph/types.js';
import { MIGRATIONS } from './migrations.js';
import { preprocessSchema } from './preprocess.js';

export class DocumentError extends Error {
  constructor(
    public code: 'E_NOT_JSON' | 'E_NOT_A_DOCUMENT' | 'E_NEWER_VERSION' | 'E_INVALID_DOCUMENT',
    message: string,
  ) {
    super(message);
  }
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const paramValue = z.union([finite, z.string(), z.boolean()]);
const position = z.object({ x: finite, y: finite });
interface GroupIn {
  id: string;
  kind: string;
  name: string;
  params: Record<string, number | string | boolean>;
  position: { x: number; y: number };
  frozen?: boolean;
  statsFrozen?: boolean;
  group?: GroupIn;
}
const groupSchema: z.ZodType<GroupIn> = z.lazy(() =>
  z.object({
    id: z.string(),
    kind: z.string(),
    name: z.string(),
    params: z.record(z.string(), paramValue),
    position,
    frozen: z.boolean().optional(),
    statsFrozen: z.boolean().optional(),
    group: groupSchema.optional(),
  }),
);

function restoreGroup(g: GroupIn): GroupInfo {
  const out: GroupInfo = { id: g.id, kind: g.kind, name: g.name, params: { ...g.params }, position: { x: g.position.x, y: g.position.y } };
  if (g.frozen) out.frozen = true;
  if (g.statsFrozen !== undefined) out.statsFrozen = g.statsFrozen;
  if (g.group) out.group = restoreGroup(g.group);
  return out;
}
const nodeSchema = z.object({
  id: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().optional(),
  params: z.record(z.string(), paramValue).optional(),
  position: position.optional(),
  frozen: z.boolean().optional(),
  statsFrozen: z.boolean().optional(),
  group: groupSchema.optional(),
});
const edgeSchema = z.object({
  id: z.string().optional(),
  source: z.string().min(1),
  sourcePort: z.string().optional(),
  target: z.string().min(1),
  targetPort: z.string().optional(),
});
const v1Schema = z.object({
  format: z.literal(DOC_FORMAT),
  version: z.literal(1),
  graph: z.object({ nodes: z.array(nodeSchema), edges: z.array(edgeSchema) }),
  training: z.record(z.string(), z.unknown()).optional(),
  preprocess: preprocessSchema.optional(),
});

/** Canonical node: fixed key order, defaults filled, so serialisation is byte-stable. */
function restoreNode(n: z.infer<typeof nodeSchema>): GraphNode {
  const out: GraphNode = {
    id: n.id,
    kind: n.kind,
    name: n.name ?? n.id,
    params: { ...(n.params ?? {}) },
    position: { x: n.position?.x ?? 0, y: n.position?.y ?? 0 },
  };
  if (n.frozen) out.frozen = true;
  if (n.statsFrozen !== undefined) out.statsFrozen = n.statsFrozen;
  if (n.group) out.group = restoreGroup(n.group);
  return out;
}

function restoreEdge(e: z.infer<typeof edgeSchema>): GraphEdge {
  const sourcePort = e.sourcePort ?? 'out';
  const targetPort = e.targetPort ?? 'in';
  return { id: e.id ?? `${e.source}:${sourcePort}->${e.target}:${targetPort}`, source: e.source, sourcePort, target: e.target, targetPort };
}

/**
 * Turns any JSON value into a current-version document: checks the envelope, refuses newer versions,
 * runs migrations in sequence, validates, and fills defaults (`restore`). Throws DocumentError with a
 * message fit for the user; never anything else.
 */
export function loadDocument(raw: unknown): GraphDoc {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new DocumentError('E_NOT_A_DOCUMENT', 'not a ReID Studio graph document (expected a JSON object)');
  const obj = raw as Record<string, unknown>;
  if (obj.format !== DOC_FORMAT)
    throw new DocumentError('E_NOT_A_DOCUMENT', `not a ReID Studio graph document (format is ${JSON.stringify(obj.format) ?? 'missing'}, expected "${DOC_FORMAT}")`);
  const version = obj.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new DocumentError('E_INVALID_DOCUMENT', `invalid document version ${JSON.stringify(version)}`);
  if (version > DOC_VERSION)
    throw new DocumentError('E_NEWER_VERSION', `this document was written by a newer ReID Studio (format version ${version}; this app reads up to ${DOC_VERSION}); please update the app`);
  let doc: Record<string, unknown> = obj;
  for (let v = version; v < DOC_VERSION; v++) doc = MIGRATIONS[v]!(doc);
  const parsed = v1Schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DocumentError('E_INVALID_DOCUMENT', `invalid document at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const d = parsed.data;
  const ids = new Set<string>();
  for (const n of d.graph.nodes) {
    if (ids.has(n.id)) throw new DocumentError('E_INVALID_DOCUMENT', `invalid document: node id "${n.id}" is used twice`);
    ids.add(n.id);
  }
  const out: GraphDoc = {
    format: DOC_FORMAT,
    version: DOC_VERSION,
    graph: { nodes: d.graph.nodes.map(restoreNode), edges: d.graph.edges.map(restoreEdge) },
  };
  if (d.training) out.training = d.training;
  if (d.preprocess) out.preprocess = d.preprocess;
  return out;
}

export function parseDocument(text: string): GraphDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DocumentError('E_NOT_JSON', `not valid JSON: ${(e as Error).message}`);
  }
  return loadDocument(raw);
}

/** Canonical text of a document: parse → serialize → parse → serialize is byte-stable. */
export function serializeDocument(doc: GraphDoc): string {
  return JSON.stringify(loadDocument(JSON.parse(JSON.stringify(doc))), null, 2) + '\n';
}
