import { useEffect, useState } from 'react';
import { convertStem, type Diagnostic } from '../../../core/index.js';
import { run, select, useEditor } from '../store/editor.js';
import { useTraining } from '../store/training.js';

/**
 * Shows a diagnostic from anywhere (the Train blocker, under the training view): back to the editor, the
 * Problems panel open, its block selected and centred.
 */
export function showProblem(d: Diagnostic): void {
  useTraining.setState({ open: false });
  window.dispatchEvent(new Event('reid:show-problems'));
  if (!d.nodeId) return;
  select([d.nodeId]);
  useEditor.setState({ focus: { id: d.nodeId, n: Date.now() } });
}

/** Every diagnostic of the analysis; clicking one selects and centres its node. */
export function ProblemsPanel() {
  const diags = useEditor((s) => s.analysis.diagnostics);
  const [open, setOpen] = useState(true);
  useEffect(() => {
    const show = () => setOpen(true);
    window.addEventListener('reid:show-problems', show);
    return () => window.removeEventListener('reid:show-problems', show);
  }, []);
  const errors = diags.filter((d) => d.severity === 'error').length;
  return (
    <section className={`problems ${open ? 'open' : ''}`} data-testid="problems">
      <button className="problems-head" onClick={() => setOpen(!open)}>
        <span>{open ? '▾' : '▸'} Problems</span>
        <span className={`count ${errors ? 'bad' : diags.length ? 'warn' : 'good'}`} data-testid="problems-count">
          {errors} error{errors === 1 ? '' : 's'}, {diags.length - errors} warning{diags.length - errors === 1 ? '' : 's'}
        </span>
      </button>
      {open && (
        <ul>
          {diags.map((d, i) => (
            <li
              key={i}
              className={`problem ${d.severity}`}
              data-testid="problem"
              data-code={d.code}
              onClick={() => showProblem(d)}
            >
              <span className="sev">{d.severity === 'error' ? '●' : '▲'}</span>
              <code>{d.code}</code>
              <span>{d.message}</span>
              {d.code === 'W_STEM_MISMATCH' && (
                <button
                  className="problem-fix"
                  data-testid="problem-fix-stem"
                  title="switch the stem's ReLU to match the stages (reid-strong-baseline's MODEL.NAME)"
                  onClick={(e) => {
                    e.stopPropagation();
                    run(convertStem());
                  }}
                >
                  Convert the stem
                </button>
              )}
            </li>
          ))}
          {!diags.length && <li className="muted">No problems: the model is ready to compile.</li>}
        </ul>
      )}
    </section>
  );
}
