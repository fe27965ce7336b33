import { useEffect } from 'react';
import { startTrainingEvents, useTraining, type Tab } from '../store/training.js';
import { Dashboard } from './Dashboard.js';
import { Results } from './Results.js';
import { Runs } from './Runs.js';
import { Setup } from './Setup.js';
import './training.css';

const TABS: [Tab, string][] = [
  ['setup', 'Setup'],
  ['dashboard', 'Dashboard'],
  ['results', 'Results'],
  ['runs', 'Runs'],
];

/** The training workspace: a panel over the editor (the graph stays loaded underneath; Close returns to it). */
export function TrainingView() {
  const { open, tab } = useTraining();
  const phase = useTraining((s) => s.current?.phase);
  useEffect(() => startTrainingEvents(), []);
  if (!open) return null;
  return (
    <div className="training-view" data-testid="training-view">
      <nav className="training-tabs">
        {TABS.map(([id, label]) => (
          <button key={id} className={tab === id ? 'active' : ''} data-testid={`train-tab-${id}`} onClick={() => useTraining.setState({ tab: id })}>
            {label}
            {id === 'dashboard' && phase && ['starting', 'running', 'evaluating'].includes(phase) && <span className="live-dot" title="a run is training" />}
          </button>
        ))}
        <span className="grow" />
        <button data-testid="training-close" onClick={() => useTraining.setState({ open: false })} title="back to the model editor (training continues)">
          Back to editor
        </button>
      </nav>
      <div className="training-body">
        {tab === 'setup' && <Setup />}
        {tab === 'dashboard' && <Dashboard />}
        {tab === 'results' && <Results />}
        {tab === 'runs' && <Runs />}
      </div>
    </div>
  );
}
