import { ACTIONS } from '../store/actions.js';
import { useEditor } from '../store/editor.js';
import { FileDialog } from './FileDialog.js';
import { PresetGallery } from './PresetGallery.js';

function Help() {
  const groups = ['File', 'Edit', 'Model', 'View'] as const;
  return (
    <div className="dialog wide" data-testid="help-overlay">
      <h3>Keyboard shortcuts</h3>
      <div className="help-cols">
        {groups.map((g) => (
          <section key={g}>
            <h4>{g}</h4>
            {ACTIONS.filter((a) => a.group === g && a.keys).map((a) => (
              <div key={a.id} className="help-row">
                <span>{a.label}</span>
                <kbd>{a.keys!.replace('Mod', 'Ctrl')}</kbd>
              </div>
            ))}
          </section>
        ))}
        <section>
          <h4>Canvas</h4>
          <div className="help-row"><span>Multi-select</span><kbd>Ctrl/Shift+click</kbd></div>
          <div className="help-row"><span>Box select</span><kbd>Shift+drag</kbd></div>
          <div className="help-row"><span>Pan</span><kbd>drag background</kbd></div>
          <div className="help-row"><span>Zoom</span><kbd>wheel</kbd></div>
          <div className="help-row"><span>Redo</span><kbd>Ctrl+Y</kbd></div>
        </section>
      </div>
      <div className="dialog-buttons">
        <span className="spacer" />
        <button className="primary" onClick={() => useEditor.setState({ dialog: null })}>Close</button>
      </div>
    </div>
  );
}

/** The one modal layer: presets, files, confirmations, help. */
export function Dialogs() {
  const d = useEditor((s) => s.dialog);
  if (!d) return null;
  const dismiss = () => d.kind !== 'confirm' && useEditor.setState({ dialog: null });
  return (
    <div className="modal" onMouseDown={(e) => e.target === e.currentTarget && dismiss()}>
      {d.kind === 'presets' && <PresetGallery />}
      {d.kind === 'open' && <FileDialog mode="open" />}
      {d.kind === 'save' && <FileDialog mode="save" />}
      {d.kind === 'help' && <Help />}
      {d.kind === 'confirm' && (
        <div className="dialog" data-testid="confirm-dialog">
          <h3>{d.title}</h3>
          <p>{d.message}</p>
          <div className="dialog-buttons">
            <span className="spacer" />
            {d.choices.map((c) => (
              <button key={c.label} className={c.primary ? 'primary' : ''} data-testid={`confirm-${c.label.toLowerCase()}`} onClick={c.run}>
                {c.label}
              </button>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
