import { useEffect, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import { api } from '../api/client.js';
import { handleKey } from '../store/actions.js';
import { notify, useEditor } from '../store/editor.js';
import { startAutosave, startSession } from '../store/files.js';
import { startHostEvents } from '../store/host-events.js';
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

function StatusBar() {
  const [host, setHost] = useState('');
  const n = useEditor((s) => s.history.doc.graph.nodes.length);
  const sel = useEditor((s) => s.selectedNodes.size);
  useEffect(() => void api.call('app.info', {}).then((i) => setHost(`${i.name} ${i.version} · ${i.host} mode · ${i.platform}`), () => setHost('server unreachable')), []);
  return (
    <footer className="statusbar">
      <span>{host}</span>
      <span className="spacer" />
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
