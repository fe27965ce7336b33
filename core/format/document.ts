import { z } from 'zod';
import { DOC_FORMAT, DOC_VERSION, type GraphDoc, type GraphNode, type GraphEdge, type GroupInfo } from '../graph/types.js';
import { MIGRATIONS } from './migrations.js';
import { preprocessSchema } from './preprocess.js';

/**
 * A document the app cannot open. Codes: E_NOT_JSON (a syntax error), E_NOT_A_DOCUMENT (JSON, but not our
 * format), E_NEWER_VERSION, E_INVALID_DOCUMENT (our format, failing the schema), E_MALFORMED_DOCUMENT
 * (beyond DOCUMENT_LIMITS: nesting, array sizes, value count). The message is one line and never quotes
 * the file's contents (a document path may point at any file).
 */
export class DocumentError extends Error {
  constructor(
    public code: 'E_NOT_JSON' | 'E_NOT_A_DOCUMENT' | 'E_NEWER_VERSION' | 'E_INVALID_DOCUMENT' | 'E_MALFORMED_DOCUMENT',
    message: string,
  ) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Caps checked before migrations and the schema walk a parsed document: a real graph (ResNet-50 IBN-a:
 * ~180 nodes, groups nested a few levels) is far below each.
 */
export const DOCUMENT_LIMITS = { depth: 64, arrayItems: 100_000, values: 2_000_000 } as const;

/** Iterative walk (no recursion: a hostile nesting cannot overflow the call stack). */
function checkLimits(root: unknown): void {
  interface Frame {
    v: object;
    depth: number;
    key: string;
    parent: Frame | null;
  }
  const where = (f: Frame) => {
    const parts: string[] = [];
    for (let x: Frame | null = f; x?.parent; x = x.parent) parts.unshift(x.key.length > 40 ? `${x.key.slice(0, 40)}…` : x.key);
    return parts.join('.') || '(root)';
  };
  const stack: Frame[] = [{ v: root as object, depth: 1, key: '', parent: null }];
  let values = 0;
  while (stack.length) {
    const f = stack.pop()!;
    if (f.depth > DOCUMENT_LIMITS.depth) throw new DocumentError('E_MALFORMED_DOCUMENT', `invalid document: nested deeper than ${DOCUMENT_LIMITS.depth} levels`);
    const list = Array.isArray(f.v) ? (f.v as unknown[]) : null;
    if (list && list.length > DOCUMENT_LIMITS.arrayItems)
      throw new DocumentError('E_MALFORMED_DOCUMENT', `invalid document at ${where(f)}: a list of ${list.length} items (at most ${DOCUMENT_LIMITS.arrayItems})`);
    const keys = list ? null : Object.keys(f.v);
    values += list ? list.length : keys!.length;
    if (values > DOCUMENT_LIMITS.values) throw new DocumentError('E_MALFORMED_DOCUMENT', `invalid document: more than ${DOCUMENT_LIMITS.values} values`);
    const n = list ? list.length : keys!.length;
    for (let i = 0; i < n; i++) {
      const v = list ? list[i] : (f.v as Record<string, unknown>)[keys![i]!];
      if (typeof v === 'object' && v !== null) stack.push({ v, depth: f.depth + 1, key: list ? String(i) : keys![i]!, parent: f });
    }
  }
}

/** What kind of JSON value `v` is, for messages that must not quote it. */
function kindOf(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? 'another string' : `a ${typeof v}`;
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
    throw new DocumentError('E_NOT_A_DOCUMENT', `not a ReID Studio graph document ("format" is ${kindOf(obj.format)}, expected "${DOC_FORMAT}")`);
  checkLimits(obj);
  const version = obj.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new DocumentError('E_INVALID_DOCUMENT', `invalid document version (${kindOf(version) === 'a number' ? 'not a positive integer' : kindOf(version)})`);
  if (version > DOC_VERSION)
    throw new DocumentError('E_NEWER_VERSION', `this document was written by a newer ReID Studio (format version ${version}; this app reads up to ${DOC_VERSION}); please update the app`);
  let doc: Record<string, unknown> = obj;
  for (let v = version; v < DOC_VERSION; v++) doc = MIGRATIONS[v]!(doc);
  const parsed = v1Schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((k) => String(k).slice(0, 40)).join('.');
    throw new DocumentError('E_INVALID_DOCUMENT', `invalid document at ${path || '(root)'}: ${issue.message}`);
  }
  const d = parsed.data;
  const ids = new Set<string>();
  for (const n of d.graph.nodes) {
    if (ids.has(n.id)) throw new DocumentError('E_INVALID_DOCUMENT', `invalid document: node id "${n.id}" is used twice`);
    ids.add(n.id);
  }
  // Connections are addressed by id (select, disconnect, the canvas's keys): two with one id would be one to the
  // editor, and a problem of either would be reported under the other's endpoints.
  const edges = d.graph.edges.map(restoreEdge);
  const edgeIds = new Set<string>();
  for (const [i, e] of edges.entries()) {
    if (edgeIds.has(e.id))
      throw new DocumentError('E_INVALID_DOCUMENT', d.graph.edges[i]!.id === undefined ? `invalid document: connection ${e.id} is listed twice` : `invalid document: connection id "${e.id}" is used twice`);
    edgeIds.add(e.id);
  }
  const out: GraphDoc = {
    format: DOC_FORMAT,
    version: DOC_VERSION,
    graph: { nodes: d.graph.nodes.map(restoreNode), edges },
  };
  if (d.training) out.training = d.training;
  if (d.preprocess) out.preprocess = d.preprocess;
  return out;
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

/**
 * Offset of the first JSON syntax error in `t` (RFC 8259 grammar), `t.length` when the text ends early, -1
 * when it is valid. Iterative: any nesting is scanned in constant stack. Used only after JSON.parse failed,
 * to say where without quoting the text (V8's messages quote the first bytes of the input).
 */
function syntaxErrorAt(t: string): number {
  const stack: string[] = [];
  let state: 'value' | 'key' | 'colon' | 'after' = 'value';
  let i = 0;
  const token = (re: RegExp) => {
    re.lastIndex = i;
    const ok = re.test(t);
    if (ok) i = re.lastIndex;
    return ok;
  };
  for (;;) {
    while (i < t.length && (t[i] === ' ' || t[i] === '\t' || t[i] === '\n' || t[i] === '\r')) i++;
    if (i >= t.length) return state === 'after' && !stack.length ? -1 : t.length;
    const c = t[i]!;
    if (state === 'value') {
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        state = c === '{' ? 'key' : 'value';
        while (t[i] === ' ' || t[i] === '\t' || t[i] === '\n' || t[i] === '\r') i++;
        if (t[i] === (c === '{' ? '}' : ']')) (i++, stack.pop(), (state = 'after'));
      } else if (token(STRING) || token(NUMBER) || token(LITERAL)) state = 'after';
      else return i;
    } else if (state === 'key') {
      if (!token(STRING)) return i;
      state = 'colon';
    } else if (state === 'colon') {
      if (c !== ':') return i;
      i++;
      state = 'value';
    } else {
      const open = stack[stack.length - 1];
      if (open === undefined) return i;
      if (c === ',') state = open === '{' ? 'key' : 'value';
      else if (c === (open === '{' ? '}' : ']')) stack.pop();
      else return i;
      i++;
    }
  }
}

/** Where JSON.parse failed, as "line L, column C" (1-based), or that the text ends early. */
function jsonProblem(text: string): string {
  const at = syntaxErrorAt(text);
  if (at < 0) return 'not valid JSON';
  if (at >= text.length) return 'not valid JSON (the text ends early)';
  const before = text.slice(0, at);
  return `not valid JSON (unexpected character at line ${before.split('\n').length}, column ${at - before.lastIndexOf('\n')})`;
}

/**
 * Parses a document's text: a UTF-8 byte-order mark is skipped (editors on Windows write one), then
 * `loadDocument`. Throws DocumentError (E_NOT_JSON with the line and column, never the text).
 */
export function parseDocument(text: string): GraphDoc {
  let raw: unknown;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new DocumentError('E_NOT_JSON', jsonProblem(body));
  }
  return loadDocument(raw);
}

/** Canonical text of a document: parse → serialize → parse → serialize is byte-stable. */
export function serializeDocument(doc: GraphDoc): string {
  return JSON.stringify(loadDocument(JSON.parse(JSON.stringify(doc))), null, 2) + '\n';
}
