import { useEffect, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import { api, ClientError } from '../api/client.js';
import { handleKey } from '../store/actions.js';
import { notify, useEditor } from '../store/editor.js';
import { startAutosave, startSession } from '../store/files.js';
import { startHostEvents } from '../store/host-events.js';
import { openTraining, useTraining } from '../store/training.js';
import { Canvas } from './Canvas.js';
import { ContextMenu } from './ContextMenu.js';
import { Dialogs } from './Dialogs.js';
import { OpsDialogs } from './OpsDialogs.js';
import { Inspector } from './Inspector.js';
import { Palette } from './Palette.js';
import { ProblemsPanel } from './ProblemsPanel.js';
import { SummaryPanel } from './SummaryPanel.js';
import { Toolbar } from './Toolbar.js';
import { TrainingView } from '../training/TrainingView.js';

function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  return (
    <div className="toasts" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.level}`} data-testid="toast">
          {t.message}
        </div>
      ))}
    </div>
  );
}

const LIVE = new Set(['starting', 'running', 'pausing', 'stopping', 'evaluating']);

/** While a run trains, the status bar says so from anywhere (a click opens its dashboard). */
function RunStatus() {
  const c = useTraining((s) => s.current);
  if (!c || !LIVE.has(c.phase)) return null;
  const where = c.last && c.start ? ` · epoch ${c.last.epoch}/${c.start.epochs}, ${Math.round(((c.last.epoch - 1) * c.last.iters + c.last.iter) / (c.start.epochs * c.last.iters) * 100)} %` : '';
  return (
    <button className="mini run-status" data-testid="status-run" onClick={() => openTraining('dashboard')} title="open the training dashboard">
      ● training “{c.name}”{where}
    </button>
  );
}

function StatusBar() {
  const [host, setHost] = useState('');
  const n = useEditor((s) => s.history.doc.graph.nodes.length);
  const sel = useEditor((s) => s.selectedNodes.size);
  useEffect(() => void api.call('app.info', {}).then((i) => setHost(`${i.name} ${i.version} · ${i.host} mode · ${i.platform}`), (e: Error) => setHost(e instanceof ClientError && e.code === 'E_UNAUTHORIZED' ? e.message : 'server unreachable')), []);
  return (
    <footer className="statusbar">
      <span>{host}</span>
      <span className="spacer" />
      <RunStatus />
      <span data-testid="status-counts">
        {n} blocks{sel ? ` · ${sel} selected` : ''}
      </span>
    </footer>
  );
}

export function App() {
  const ready = useEditor((s) => s.ready);
  const epoch = useEditor((s) => s.epoch);
  useEffect(() => {
    void startSession();
    const stop = startAutosave();
    const stopHost = startHostEvents();
    const off = api.on('app.notice', (m) => notify(m.message, m.level));
    window.addEventListener('keydown', handleKey);
    return () => {
      stop();
      stopHost();
      off();
      window.removeEventListener('keydown', handleKey);
    };
  }, []);
  return (
    <ReactFlowProvider>
      <div className="app" data-testid="app" data-ready={ready ? 'true' : 'false'} data-epoch={epoch}>
        <Toolbar />
        <div className="main">
          <Palette />
          <div className="workspace">
            <Canvas />
            <ProblemsPanel />
          </div>
          <div className="sidebar-right">
            <Inspector />
            <SummaryPanel />
          </div>
        </div>
        <StatusBar />
        <ContextMenu />
        <TrainingView />
        <Dialogs />
        <OpsDialogs />
        <Toasts />
      </div>
    </ReactFlowProvider>
  );
}
