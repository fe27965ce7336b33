import { openTraining, useTraining } from '../store/training.js';

/** The toolbar's "Train" button: opens the training workspace (or closes it back to the editor). */
export function TrainButton() {
  const open = useTraining((s) => s.open);
  return (
    <button className="train-open" data-testid="btn-train" title="Dataset, settings and training runs" onClick={() => (open ? useTraining.setState({ open: false }) : openTraining())}>
      {open ? 'Editor' : 'Train ▸'}
    </button>
  );
}
