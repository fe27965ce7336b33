import type { ApiClient, CallInput, CallOutput, EventMessage, EventName, EventPayload, Method, Reply } from '../../../core/api/contract.js';

/** A failed call: `code` from the contract, `message` written for the user. */
export class ClientError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Electron's preload exposes the same contract on window.reidStudio (contextBridge). */
interface Bridge {
  invoke(method: string, input: unknown): Promise<Reply<unknown>>;
  subscribe(handler: (msg: EventMessage) => void): () => void;
  /** Names this page's window id to the main process (window liveness, as browser mode's event WebSocket). */
  register?(windowId: string): void;
}
declare global {
  interface Window {
    reidStudio?: Bridge;
  }
}

type Handler = (payload: unknown) => void;

/**
 * This page load's window id (core/api/contract.ts `windowIdSchema`). Browser mode sends it with the event
 * WebSocket, so the server knows this window is open for as long as the socket is; autosave writes and
 * session.start name it, so another tab never offers to recover (or clears) this window's unsaved changes.
 */
export const WINDOW_ID: string =
  typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

function makeEvents() {
  const handlers = new Map<string, Set<Handler>>();
  return {
    emit(msg: EventMessage) {
      for (const h of handlers.get(msg.event) ?? []) h(msg.payload);
    },
    on(event: string, h: Handler) {
      const set = handlers.get(event) ?? new Set();
      set.add(h);
      handlers.set(event, set);
      return () => void set.delete(h);
    },
  };
}

function unwrap<T>(r: Reply<unknown>): T {
  if (!r.ok) throw new ClientError(r.error.code, r.error.message);
  return r.result as T;
}

/**
 * Browser mode: token from the launch URL, removed from the address bar and kept for this origin (127.0.0.1 and
 * the server's port) in localStorage, so a reload, a second tab or a reopened tab of the same server still
 * calls the API (sessionStorage is per tab: a second tab loaded the page through the cookie, then every call
 * was refused and the status bar said "server unreachable").
 */
function browserClient(): ApiClient {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem('reid-token', fromUrl);
    localStorage.setItem('reid-token', fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  const token = fromUrl ?? sessionStorage.getItem('reid-token') ?? localStorage.getItem('reid-token') ?? '';
  const events = makeEvents();
  let retry = 500;
  const connect = () => {
    const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}&window=${encodeURIComponent(WINDOW_ID)}`);
    ws.onopen = () => (retry = 500);
    ws.onmessage = (m) => {
      try {
        events.emit(JSON.parse(String(m.data)) as EventMessage);
      } catch {
        // a malformed event is dropped; calls do not depend on events
      }
    };
    ws.onclose = () => {
      retry = Math.min(retry * 2, 10_000);
      setTimeout(connect, retry);
    };
  };
  connect();
  return {
    async call<M extends Method>(method: M, input: CallInput<M>): Promise<CallOutput<M>> {
      let res: Response;
      try {
        res = await fetch(`/api/${method}`, {
          method: 'POST',
          // User errors come back as 200 with `ok: false` (main/hosts/server.ts): no console error for them.
          headers: { 'content-type': 'application/json', 'x-reid-token': token, 'x-reid-errors': 'body' },
          body: JSON.stringify(input),
        });
      } catch (e) {
        throw new ClientError('E_IO', `cannot reach the ReID Studio server (${(e as Error).message}); is "reid-studio serve" still running?`);
      }
      // A token of an earlier launch (the server restarted on this port) or none: say what to do.
      if (res.status === 401) throw new ClientError('E_UNAUTHORIZED', 'this page has no valid access token for the server (it was restarted?): open the URL that "reid-studio serve" printed');
      let body: Reply<unknown>;
      try {
        body = (await res.json()) as Reply<unknown>;
      } catch {
        throw new ClientError('E_IO', `unexpected server reply (HTTP ${res.status})`);
      }
      return unwrap<CallOutput<M>>(body);
    },
    on<E extends EventName>(event: E, handler: (p: EventPayload<E>) => void) {
      return events.on(event, handler as Handler);
    },
  };
}

function electronClient(bridge: Bridge): ApiClient {
  const events = makeEvents();
  bridge.subscribe((m) => events.emit(m));
  bridge.register?.(WINDOW_ID);
  return {
    async call<M extends Method>(method: M, input: CallInput<M>) {
      return unwrap<CallOutput<M>>(await bridge.invoke(method, input));
    },
    on<E extends EventName>(event: E, handler: (p: EventPayload<E>) => void) {
      return events.on(event, handler as Handler);
    },
  };
}

export const api: ApiClient = window.reidStudio ? electronClient(window.reidStudio) : browserClient();
