/**
 * The Electron main process: one hardened window on the app's own `app://` scheme, the service exposed
 * over IPC, native menus and dialogs, single-instance lock, remembered window state and file-association
 * opens. Built by esbuild into app/dist/electron-main.js (the `main` of app/package.json).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell, utilityProcess, type MenuItemConstructorOptions } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Service } from '../../service/index.js';
import type { WorkerMessage } from '../../training/jobs.js';
import type { WorkerSpawner } from '../../training/process.js';
import { appVersion } from '../../cli/serve.js';
import { APP_ORIGIN, EVENT_CHANNEL, eventMessage, guardPaths, PathGrants, registerIpc, type OpenDialogKind } from './ipc.js';
import { CONTENT_SECURITY_POLICY, documentArg, isAllowedExternal, isAppUrl } from './security.js';
import { DEFAULT_STATE, restoreWindowState, saveWindowState } from './window-state.js';

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

const service = new Service({ host: 'electron', version: appVersion(), dataDir: join(app.getPath('userData'), 'state'), spawner: electronSpawner });
const grants = new PathGrants();
let win: BrowserWindow | null = null;
let pendingOpen = documentArg(process.argv);

function send(event: Parameters<typeof eventMessage>[0], payload: unknown): void {
  win?.webContents.send(EVENT_CHANNEL, eventMessage(event, payload));
}

async function openDocument(path: string): Promise<void> {
  grants.grant(path);
  const r = await service.dispatch('doc.open', { path });
  if (r.ok) send('doc.opened', r.result);
  else send('app.notice', { level: 'error', message: r.error.message });
}

async function showOpen(): Promise<void> {
  if (!win) return;
  const r = await dialog.showOpenDialog(win, { properties: ['openFile'], filters: [{ name: 'ReID Studio graph', extensions: ['reidgraph', 'json'] }] });
  if (!r.canceled && r.filePaths[0]) await openDocument(r.filePaths[0]);
}

async function showSave(): Promise<void> {
  if (!win) return;
  const r = await dialog.showSaveDialog(win, { filters: [{ name: 'ReID Studio graph', extensions: ['json'] }], defaultPath: service.documentsDir });
  if (r.canceled || !r.filePath) return;
  const path = r.filePath.endsWith('.json') ? r.filePath : `${r.filePath}.json`;
  grants.grant(path);
  send('menu.action', { action: 'saveAs', path });
}

function menuAction(action: string): () => void {
  return () => send('menu.action', { action });
}

function buildMenu(recent: { path: string; name: string }[]): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New from Preset…', accelerator: 'CmdOrCtrl+N', click: menuAction('new') },
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => void showOpen() },
        { label: 'Open Recent', submenu: recent.length ? recent.map((r) => ({ label: r.name, click: () => void openDocument(r.path) })) : [{ label: 'No recent files', enabled: false }] },
        { type: 'separator' },
        { label: 'Save', accelerator: 'CmdOrCtrl+S', click: menuAction('save') },
        { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => void showSave() },
        { type: 'separator' },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: menuAction('export') },
        { label: 'Import Config…', click: menuAction('importConfig') },
        { type: 'separator' },
        { label: 'Reveal Run Folder', click: () => void shell.openPath(join(service.dataDir, '..', 'runs')) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        { label: 'Undo', accelerator: 'CmdOrCtrl+Z', click: menuAction('undo') },
        { label: 'Redo', accelerator: 'CmdOrCtrl+Shift+Z', click: menuAction('redo') },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { label: 'Duplicate', accelerator: 'CmdOrCtrl+D', click: menuAction('duplicate') },
        { label: 'Select All', accelerator: 'CmdOrCtrl+A', click: menuAction('selectAll') },
      ],
    },
    {
      label: 'View',
      submenu: [
        { label: 'Fit View', accelerator: 'Shift+1', click: menuAction('fitView') },
        { label: 'Auto Layout', accelerator: 'CmdOrCtrl+L', click: menuAction('autoLayout') },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: 'Model',
      submenu: [
        { label: 'Swap Norm to IBN-a', click: menuAction('swapIbn') },
        { label: 'Swap Norm to BN', click: menuAction('swapBn') },
        { label: 'Apply IBN-a Placement (layer1–3)', click: menuAction('ibnPlacement') },
        { type: 'separator' },
        { label: 'Freeze Backbone', click: menuAction('freezeBackbone') },
        { label: 'Unfreeze Backbone', click: menuAction('unfreezeBackbone') },
        { type: 'separator' },
        { label: 'Expand / Collapse Stage', accelerator: 'CmdOrCtrl+E', click: menuAction('toggleExpand') },
      ],
    },
    { label: 'Train', submenu: [{ label: 'Train', accelerator: 'CmdOrCtrl+Enter', click: menuAction('train') }, { label: 'Stop', click: menuAction('stop') }] },
    {
      role: 'help',
      submenu: [
        { label: 'Keyboard Shortcuts', accelerator: 'CmdOrCtrl+/', click: menuAction('shortcuts') },
        { label: 'Bag of Tricks paper (arXiv 1903.07071)', click: () => void shell.openExternal('https://arxiv.org/abs/1903.07071') },
        { label: 'IBN-Net paper (arXiv 1807.09441)', click: () => void shell.openExternal('https://arxiv.org/abs/1807.09441') },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
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
    backgroundColor: '#0f172a',
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
  win.on('close', () => {
    if (!win) return;
    const b = win.getNormalBounds();
    void saveWindowState(service.dataDir, { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() });
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

app.on('before-quit', () => service.training.stopAll());

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.whenReady().then(async () => {
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  protocol.handle('app', serveRenderer);
  const recent = await service.call('recent.list', {});
  for (const r of recent) grants.grant(r.path);
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
      const filters =
        kind === 'document'
          ? [{ name: 'ReID Studio graph', extensions: ['reidgraph', 'json'] }]
          : kind === 'weights'
            ? [{ name: 'PyTorch / safetensors weights', extensions: ['pth', 'pt', 'tar', 'safetensors'] }]
            : kind === 'config'
              ? [{ name: 'reid-strong-baseline / fast-reid config', extensions: ['yml', 'yaml'] }]
              : [];
      const r = await dialog.showOpenDialog(win, { properties: [kind === 'folder' ? 'openDirectory' : 'openFile'], filters });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async save(suggestedName?: string, kind: 'document' | 'export' = 'document') {
      if (!win) return null;
      if (kind === 'export') {
        // Any name: a file for the graph / YAML formats, a new folder for the PyTorch / tfjs formats.
        const r = await dialog.showSaveDialog(win, { defaultPath: join(service.documentsDir, suggestedName ?? 'export'), properties: ['createDirectory', 'showOverwriteConfirmation'] });
        return r.canceled || !r.filePath ? null : r.filePath;
      }
      const r = await dialog.showSaveDialog(win, { filters: [{ name: 'ReID Studio graph', extensions: ['json'] }], defaultPath: join(service.documentsDir, suggestedName ?? 'model.json') });
      if (r.canceled || !r.filePath) return null;
      return r.filePath.endsWith('.json') ? r.filePath : `${r.filePath}.json`;
    },
  };
  registerIpc(ipcMain, guardPaths(service, grants, nativeDialogs));
  buildMenu(recent);
  await createWindow();
  app.on('activate', () => {
    if (!BrowserWindow.getAllWindows().length) void createWindow();
  });
});
