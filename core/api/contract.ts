import { z } from 'zod';
import type { DatasetErrorCode } from '../config/datasets.js';
import { trainingCalls, trainingEvents } from './training-contract.js';
import { opsCalls, opsEvents } from './ops-contract.js';

/**
 * The one typed API contract between the UI and the Node side (design.md: "one typed API contract").
 * Every call is `method -> { input, output }` with zod schemas; every event is `name -> payload`.
 * Hosts (browser-mode HTTP/WebSocket server, Electron IPC, CLI) only move these payloads; the service
 * validates `input` with these schemas because the UI is untrusted input. Later issues add calls
 * (training, weights, export) by adding entries here: names are persisted in clients, never rename one.
 */

/** A document on disk: absolute path + its raw JSON (the renderer parses it with core's loadDocument). */
const docFile = z.object({ path: z.string(), text: z.string() });
const recentEntry = z.object({ path: z.string(), name: z.string(), openedAt: z.string() });
const dirEntry = z.object({ name: z.string(), path: z.string(), dir: z.boolean() });

/** A file path as the UI sends it: absolute, no NUL, sane length. */
export const pathSchema = z
  .string()
  .min(1, 'path must not be empty')
  .max(4096, 'path is too long')
  .refine((p) => !p.includes('\0'), 'path must not contain NUL')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'path must be absolute');

/**
 * A window of the app (a browser tab, an Electron window): a random id per page load. Browser mode registers
 * it with the server through the window's event WebSocket (`/ws?window=<id>`) for as long as the page lives,
 * so the server knows whose autosave belongs to a window that is still open.
 */
export const windowIdSchema = z.string().regex(/^[\w-]{8,64}$/, 'a window id: 8 to 64 letters, digits, - or _');

/** session.start's `recovery.window` of the single `autosave.json` that writers naming no window keep (older clients). */
export const LEGACY_AUTOSAVE_SLOT = 'legacy-autosave';

/** Document JSON is sent as text: the service checks it with core's parser before writing anything. */
const docText = z.string().max(64 * 1024 * 1024, 'document is larger than 64 MB');

export const calls = {
  /** Host and app facts for the status bar and defaults. */
  'app.info': {
    input: z.object({}).strict(),
    output: z.object({
      name: z.string(),
      version: z.string(),
      host: z.enum(['browser', 'electron']),
      platform: z.string(),
      documentsDir: z.string(),
      dataDir: z.string(),
    }),
  },
  /**
   * What to show at launch: crash-recovery state (unsaved edits of the last session) and the last document.
   * `window`: the asking window. An autosave whose writer (`autosave.write`'s `window`) is still connected is
   * not a crash: `recovery` is null then and `recoveryHeld` true (that window keeps its unsaved changes).
   * Each window has its own autosave slot: `recovery` is the asking window's own, else the newest slot whose
   * window is gone, `recovery.window` naming it (pass it as `autosave.write`'s `recovered` to clear or move it);
   * `moreRecoveries` counts the other gone windows' slots (offered next).
   */
  'session.start': {
    input: z.object({ window: windowIdSchema.optional() }).strict(),
    output: z.object({
      recovery: z.object({ path: z.string().nullable(), text: z.string(), savedAt: z.string(), window: z.string().optional() }).nullable(),
      recoveryHeld: z.boolean(),
      moreRecoveries: z.number().int().optional(),
      last: docFile.nullable(),
      lastError: z.string().nullable(),
    }),
  },
  'doc.open': { input: z.object({ path: pathSchema }).strict(), output: docFile },
  /** Atomic write (temp + rename); refuses text that is not a valid document. */
  'doc.save': { input: z.object({ path: pathSchema, text: docText }).strict(), output: z.object({ path: z.string(), bytes: z.number() }) },
  'recent.list': { input: z.object({}).strict(), output: z.array(recentEntry) },
  'recent.clear': { input: z.object({}).strict(), output: z.object({ ok: z.literal(true) }) },
  /**
   * Unsaved state for crash recovery; `text: null` clears it (document saved or discarded). `window`: the
   * writing window, whose own slot this writes or clears; a clear never removes the autosave of another window
   * that is still connected. `recovered`: the gone window's slot this window was offered (session.start's
   * `recovery.window`), removed after this write or clear (recovered here, or discarded).
   */
  'autosave.write': {
    input: z.object({ path: pathSchema.nullable(), text: docText.nullable(), window: windowIdSchema.optional(), recovered: windowIdSchema.optional() }).strict(),
    output: z.object({ ok: z.literal(true) }),
  },
  /** A minimal file browser for hosts without native dialogs (browser mode). */
  'fs.list': {
    /** `extensions`: which files to list besides folders (default `.json`, graph documents; `[]`: folders only). */
    input: z.object({ dir: pathSchema, extensions: z.array(z.string().regex(/^\.[\w.]{1,16}$/)).max(8).optional() }).strict(),
    output: z.object({ dir: z.string(), parent: z.string().nullable(), entries: z.array(dirEntry) }),
  },
  /**
   * A native file / folder dialog shown by the host. The desktop host shows the system dialog and returns
   * the chosen path (the only way the desktop renderer gets paths); browser mode has none (`native: false`)
   * and the UI falls back to its own folder browser.
   */
  'dialog.open': {
    input: z.object({ kind: z.enum(['document', 'weights', 'folder', 'config']) }).strict(),
    output: z.object({ native: z.boolean(), path: z.string().nullable() }),
  },
  'dialog.save': {
    /** `kind: 'export'`: a destination for an export (any extension; a new name for folder formats). */
    input: z.object({ suggestedName: z.string().max(255).optional(), kind: z.enum(['document', 'export']).optional() }).strict(),
    output: z.object({ native: z.boolean(), path: z.string().nullable() }),
  },
  ...trainingCalls,
  ...opsCalls,
} as const;

export const events = {
  /** A notice from the Node side (e.g. an autosave that failed), shown as a toast. */
  'app.notice': z.object({ level: z.enum(['info', 'warning', 'error']), message: z.string() }),
  /** The recent-files list changed (another window opened or saved a document). */
  'recent.changed': z.array(recentEntry),
  /** Desktop host: a native menu item was chosen (undo, save, fitView, swapIbn, train, …); `path` comes from a save dialog. */
  'menu.action': z.object({ action: z.string(), path: z.string().optional() }),
  /** Desktop host: a document was opened from a native dialog, the recent menu or the OS (file association). */
  'doc.opened': docFile,
  ...trainingEvents,
  ...opsEvents,
} as const;

export type Calls = typeof calls;
export type Method = keyof Calls;
export type CallInput<M extends Method> = z.input<Calls[M]['input']>;
export type CallParsed<M extends Method> = z.output<Calls[M]['input']>;
export type CallOutput<M extends Method> = z.output<Calls[M]['output']>;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;
export type RecentEntry = z.output<typeof recentEntry>;
export type DirEntry = z.output<typeof dirEntry>;

export function isMethod(m: string): m is Method {
  return Object.prototype.hasOwnProperty.call(calls, m);
}

/** Error codes a call can fail with; `message` is written for the user. */
export type ApiErrorCode =
  | 'E_BAD_REQUEST'
  | 'E_UNKNOWN_METHOD'
  | 'E_NOT_FOUND'
  | 'E_IO'
  | 'E_INVALID_DOCUMENT'
  | 'E_UNAUTHORIZED'
  | 'E_INTERNAL'
  /** Pretrained weights hold NaN / ±Inf in tensors the graph would load (train.start refuses them). */
  | 'E_NONFINITE_WEIGHTS'
  /** A feature turned NaN / ±Inf during an evaluation (the message names the image). */
  | 'E_NONFINITE_FEATURES'
  /** A weights file that cannot be read: damaged / not a checkpoint, unsupported content, too large, or unreadable. */
  | 'E_MALFORMED_CHECKPOINT'
  | 'E_UNSUPPORTED_CHECKPOINT'
  | 'E_CHECKPOINT_TOO_LARGE'
  | 'E_CHECKPOINT_IO'
  /** A training run ran out of its device's memory (train.exit `code`): lower the micro-batch. */
  | 'E_OUT_OF_MEMORY'
  /** The webgpu engine's GPU device was lost (driver reset, GPU removed): redo the work on another engine. */
  | 'E_GPU_DEVICE_LOST'
  /** A WebGPU session failed (no adapter / device, a kernel or shader the GPU refuses). */
  | 'E_WEBGPU_FAILED'
  /** The run folder is being written by another live process (its lock, main/runs/store/lock.ts): the message names it. */
  | 'E_RUN_LOCKED'
  /** Dataset problems (core/config/datasets.ts). */
  | DatasetErrorCode;

export class ApiError extends Error {
  constructor(
    public code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Wire format of one call's result, identical over HTTP and IPC. */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: ApiErrorCode; message: string } };

/** The client side of the contract: what the renderer gets from whichever host it runs in. */
export interface ApiClient {
  call<M extends Method>(method: M, input: CallInput<M>): Promise<CallOutput<M>>;
  on<E extends EventName>(event: E, handler: (payload: EventPayload<E>) => void): () => void;
}

/** Wire format of one WebSocket event. */
export interface EventMessage {
  event: EventName;
  payload: unknown;
}

export { dataSourceSchema, type DataSource, type RunSummary, type TrainEventData } from './training-contract.js';
export { EXPORT_FORMATS, type ExportFormat, type GraphSource, type WeightsSource, type EvalProgress, type ExportProgress, type LoadReportData } from './ops-contract.js';
