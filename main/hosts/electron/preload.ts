import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

/**
 * The whole surface the renderer gets: one `invoke` for contract calls, one event subscription and the
 * page's window registration.
 * No Node, no ipcRenderer, no file-system access crosses the bridge (contextIsolation + sandbox).
 * Channel names are duplicated from ipc.ts because a sandboxed preload must be a single bundle.
 */
const CALL_CHANNEL = 'reid:call';
const EVENT_CHANNEL = 'reid:event';
const WINDOW_CHANNEL = 'reid:window';

contextBridge.exposeInMainWorld('reidStudio', {
  invoke: (method: string, input: unknown) => ipcRenderer.invoke(CALL_CHANNEL, String(method), input),
  subscribe: (handler: (msg: unknown) => void) => {
    const listener = (_e: IpcRendererEvent, msg: unknown) => handler(msg);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  },
  // This page's window id: the service holds its autosave back from crash recovery while the page lives (ipc.ts registerWindows).
  register: (windowId: string) => ipcRenderer.send(WINDOW_CHANNEL, String(windowId)),
});
