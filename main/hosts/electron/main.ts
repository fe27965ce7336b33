/**
 * The Electron main process: one hardened window on the app's own `app://` scheme, the service exposed
 * over IPC, native menus and dialogs, single-instance lock, remembered window state and file-association
 * opens. Built by esbuild into app/dist/electron-main.js (the `main` of app/package.json).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, screen, session, shell, utilityProcess, type MenuItemConstructorOptions } from 'electron';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Service } from '../../service/index.js';
import type { WorkerMessage } from '../../runs/jobs.js';
import type { WorkerSpawner } from '../../runs/process.js';
import { appVersion } from '../../io/app-version.js';
import { APP_ORIGIN, EVENT_CHANNEL, eventMessage, guardPaths, PathGrants, registerIpc, registerWindows, type OpenDialogKind } from './ipc.js';
import { CONTENT_SECURITY_POLICY, documentArg, isAllowedExternal, isAppUrl } from './security.js';
import { DEFAULT_STATE, restoreWindowState, saveWindowState } from './window-state.js';
import { aboutOptions, closeAnyway, CRASH_PROMPT, DOC_FILTERS, documentSavePath, menuTemplate, suggestedFileName, UNSAVED_PROMPT, windowBackground } from './desktop.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const rendererDir = join(here, 'renderer');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2' };

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) app.quit();

/**
 * Training runs in an Electron utility process (a packaged app has the runAsNode fuse off, so a forked
 * Node child is not available); a crash or out-of-memory there is reported and the window lives on.
 */
const electronSpawner: WorkerSpawner = () => {
  const child = utilityProcess.fork(join(here, 'worker.js'), [], { stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'ReID Studio training' });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  return {
    pid: child.pid,
    send: (m) => child.postMessage(m),
    onMessage: (cb) => child.on('message', (m) => cb(m as WorkerMessage)),
    onExit: (cb) => child.on('exit', (code) => cb(code, null, tail)),
    kill: () => void child.kill(),
  };
};

// The same data folder as browser mode (recents, autosave, runs): one app, two ways to open it.
const service = new Service({ host: 'electron', version: appVersion(), spawner: electronSpawner });
const grants = new PathGrants();
let win: BrowserWindow | null = null;
let pendingOpen = documentArg(process.argv);

function send(event: Parameters<typeof eventMessage>[0], payload: unknown): void {
  win?.webContents.send(EVENT_CHANNEL, eventMessage(event, payload));
}

/** The folder of the last document opened or saved: Open / Save start there. */
let lastDir: string | undefined;

async function openDocument(path: string): Promise<void> {
  grants.grant(path);
  const r = await service.dispatch('doc.open', { path });
  if (r.ok) {
    send('doc.opened', r.result);
    lastDir = dirname(path);
    app.addRecentDocument(path);
  } else send('app.notice', { level: 'error', message: r.error.message });
}

async function showOpen(): Promise<void> {
  if (!win) return;
  const r = await dialog.showOpenDialog(win, { properties: ['openFile'], filters: DOC_FILTERS, defaultPath: lastDir ?? service.documentsDir });
  if (!r.canceled && r.filePaths[0]) await openDocument(r.filePaths[0]);
}

/** Save dialog for a document: `.reidgraph` by default (the registered type), starting in the last folder. */
async function askSavePath(suggestedName?: string): Promise<string | null> {
  if (!win) return null;
  const r = await dialog.showSaveDialog(win, { filters: DOC_FILTERS, defaultPath: join(lastDir ?? service.documentsDir, suggestedFileName(suggestedName)) });
  if (r.canceled || !r.filePath) return null;
  const path = documentSavePath(r.filePath);
  lastDir = dirname(path);
  app.addRecentDocument(path);
  return path;
}

async function showSave(): Promise<void> {
  const path = await askSavePath();
  if (!path) return;
  grants.grant(path);
  send('menu.action', { action: 'saveAs', path });
}

function menuAction(action: string): () => void {
  return () => send('menu.action', { action });
}

function buildMenu(recent: { path: string; name: string }[]): void {
  const template = menuTemplate(
    { isMac: process.platform === 'darwin', isPackaged: app.isPackaged, recent },
    { action: menuAction, open: () => void showOpen(), saveAs: () => void showSave(), openRecent: (p) => void openDocument(p), revealRuns: () => void revealRuns(), openExternal: (u) => void shell.openExternal(u) },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template as MenuItemConstructorOptions[]));
}

/** Run ▸ Reveal: the folder the runs really live in (created if no run exists yet). */
async function revealRuns(): Promise<void> {
  await mkdir(service.training.runsDir, { recursive: true });
  const err = await shell.openPath(service.training.runsDir);
  if (err) send('app.notice', { level: 'error', message: `could not open ${service.training.runsDir}: ${err}` });
}

async function serveRenderer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return new Response('not found', { status: 404 });
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '') || 'index.html';
  const file = join(rendererDir, rel);
  if (!file.startsWith(rendererDir + sep)) return new Response('forbidden', { status: 403 });
  try {
    const body = await readFile(file);
    return new Response(body, { headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CONTENT_SECURITY_POLICY } });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

async function createWindow(): Promise<void> {
  const saved = restoreWindowState(service.dataDir, screen.getAllDisplays().map((d) => d.workArea));
  win = new BrowserWindow({
    ...(saved ? { x: saved.x, y: saved.y, width: saved.width, height: saved.height } : { width: DEFAULT_STATE.width, height: DEFAULT_STATE.height }),
    minWidth: 900,
    minHeight: 600,
    title: 'ReID Studio',
    show: false,
    backgroundColor: windowBackground(nativeTheme.shouldUseDarkColors),
    // Electron's security checklist, spelled out literally so static checkers (electronegativity) see it.
    webPreferences: {
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
      preload: join(here, 'preload.cjs'),
    },
  });
  if (saved?.maximized) win.maximize();
  win.once('ready-to-show', () => win?.show());
  // The page refuses to unload while the document has unsaved changes (beforeunload): ask, here.
  win.webContents.on('will-prevent-unload', (event) => {
    if (!win) return;
    if (closeAnyway(dialog.showMessageBoxSync(win, { type: 'question', ...UNSAVED_PROMPT }))) event.preventDefault();
  });
  win.webContents.on('render-process-gone', (_e, details) => {
    if (!win || details.reason === 'clean-exit') return;
    const w = win;
    void dialog.showMessageBox(w, { type: 'error', ...CRASH_PROMPT, detail: `Reason: ${details.reason}. Unsaved work is in the autosave and is offered back after a reload.` }).then((r) => (r.response === 0 ? w.webContents.reload() : w.destroy()));
  });
  win.on('close', () => {
    if (!win) return;
    const b = win.getNormalBounds();
    pendingStateSave = saveWindowState(service.dataDir, { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() }).catch(() => undefined);
  });
  win.on('closed', () => (win = null));
  win.webContents.on('did-finish-load', () => {
    if (pendingOpen) void openDocument(pendingOpen);
    pendingOpen = undefined;
  });
  await win.loadURL(`${APP_ORIGIN}/index.html`);
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.on('second-instance', (_e, argv) => {
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
  const file = documentArg(argv);
  if (file) void openDocument(file);
});

app.on('open-file', (event, path) => {
  event.preventDefault();
  if (win) void openDocument(path);
  else pendingOpen = path;
});

/** The window-state write started when the window closed: quitting waits for it. */
let pendingStateSave: Promise<void> | null = null;

// Training stops only once the quit is certain (every window closed, unsaved changes confirmed), and the
// process exits only after the window state is on disk.
app.on('will-quit', (event) => {
  service.training.stopAll();
  if (!pendingStateSave) return;
  event.preventDefault();
  const saving = pendingStateSave;
  pendingStateSave = null;
  void saving.finally(() => app.quit());
});

nativeTheme.on('updated', () => win?.setBackgroundColor(windowBackground(nativeTheme.shouldUseDarkColors)));

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.whenReady().then(async () => {
  app.setAboutPanelOptions(aboutOptions(appVersion()));
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  protocol.handle('app', serveRenderer);
  const recent = await service.call('recent.list', {});
  for (const r of recent) grants.grant(r.path);
  // A new session's Open / Save start where the last one left off: the folder of the most recent document.
  if (recent[0]) lastDir ??= dirname(recent[0].path);
  service.onEvent((event, payload) => {
    if (event === 'recent.changed') {
      for (const r of payload as { path: string }[]) grants.grant(r.path);
      buildMenu(payload as { path: string; name: string }[]);
    }
    send(event, payload);
  });
  const nativeDialogs = {
    async open(kind: OpenDialogKind) {
      if (!win) return null;
      const filters = kind === 'document' ? DOC_FILTERS : kind === 'weights' ? [{ name: 'PyTorch / safetensors weights', extensions: ['pth', 'pt', 'tar', 'safetensors'] }] : kind === 'config' ? [{ name: 'reid-strong-baseline / fast-reid config', extensions: ['yml', 'yaml'] }] : [];
      const r = await dialog.showOpenDialog(win, { properties: [kind === 'folder' ? 'openDirectory' : 'openFile'], filters, ...(kind === 'document' && lastDir ? { defaultPath: lastDir } : {}) });
      const picked = r.canceled ? null : (r.filePaths[0] ?? null);
      if (picked && kind === 'document') lastDir = dirname(picked);
      return picked;
    },
    async save(suggestedName?: string, kind: 'document' | 'export' = 'document') {
      if (!win) return null;
      if (kind === 'export') {
        // Any name: a file for the graph / YAML / ONNX formats, a new folder for the PyTorch / tfjs formats.
        const r = await dialog.showSaveDialog(win, { defaultPath: join(lastDir ?? service.documentsDir, suggestedName ?? 'export'), properties: ['createDirectory', 'showOverwriteConfirmation'] });
        return r.canceled || !r.filePath ? null : r.filePath;
      }
      return askSavePath(suggestedName);
    },
  };
  registerIpc(ipcMain, guardPaths(service, grants, nativeDialogs));
  // Each page's window id joins the service's window liveness (autosave slots), as browser tabs' sockets do.
  registerWindows(ipcMain, service);
  buildMenu(recent);
  await createWindow();
  app.on('activate', () => {
    if (!BrowserWindow.getAllWindows().length) void createWindow();
  });
});
