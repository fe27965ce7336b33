import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

/**
 * The whole surface the renderer gets: one `invoke` for contract calls and one event subscription.
 * No Node, no ipcRenderer, no file-system access crosses the bridge (contextIsolation + sandbox).
 * Channel names are duplicated from ipc.ts because a sandboxed preload must be a single bundle.
 */
const CALL_CHANNEL = 'reid:call';
const EVENT_CHANNEL = 'reid:event';

contextBridge.exposeInMainWorld('reidStudio', {
  invoke: (method: string, input: unknown) => ipcRenderer.invoke(CALL_CHANNEL, String(method), input),
  subscribe: (handler: (msg: unknown) => void) => {
    const listener = (_e: IpcRendererEvent, msg: unknown) => handler(msg);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  },
});
