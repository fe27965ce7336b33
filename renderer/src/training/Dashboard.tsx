import { useEffect } from 'react';
import { control, openRun, resume, useTraining, type RunPhase, type RunView } from '../store/training.js';
import { backendBadge } from './backend-badge.js';
import { LOSS_TERMS } from '../../../core/training/losses.js';
import { Chart, COLORS } from './Chart.js';

export function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const ACTIVE: RunPhase[] = ['starting', 'running', 'pausing', 'stopping', 'evaluating'];
const PHASE_TEXT: Record<RunPhase, string> = {
  starting: 'starting…',
  running: 'training',
  pausing: 'pausing after this step…',
  stopping: 'stopping after this step…',
  evaluating: 'evaluating',
  paused: 'paused',
  stopped: 'stopped',
  completed: 'completed',
  failed: 'failed',
  interrupted: 'interrupted',
};

/** A checkpoint in the progress's own numbering: "end of epoch 3", or "epoch 4, iteration 25". */
export function checkpointText(c: { epoch: number; step: number; batch?: number }): string {
  if (c.batch === 0) return `end of epoch ${c.epoch - 1} (step ${c.step})`;
  if (c.batch !== undefined) return `epoch ${c.epoch}, iteration ${c.batch} (step ${c.step})`;
  return `step ${c.step}`;
}

function Progress({ v }: { v: RunView }) {
  const l = v.last;
  const total = v.start ? v.start.epochs * v.start.itersPerEpoch : 0;
  const done = l && v.start ? (l.epoch - 1) * v.start.itersPerEpoch + l.iter : 0;
  const frac = v.phase === 'completed' ? 1 : total ? Math.min(1, done / total) : 0;
  return (
    <div className="progress-block">
      <div className="progress" data-testid="train-progress" data-value={frac.toFixed(4)} role="progressbar" aria-valuenow={Math.round(frac * 100)} aria-valuemin={0} aria-valuemax={100}>
        <span style={{ width: `${frac * 100}%` }} />
      </div>
      <div className="progress-text" data-testid="train-progress-text">
        {l && v.start ? (
          <>
            <span data-testid="train-epoch">
              epoch {l.epoch}/{v.start.epochs}
            </span>
            <span>
              iteration {l.iter}/{l.iters}
            </span>
            <span>step {l.step}</span>
            <span data-testid="train-ips">{l.imgPerSec.toFixed(1)} images/s</span>
            <span data-testid="train-eta">ETA {ACTIVE.includes(v.phase) ? eta(l.etaSeconds) : '—'}</span>
          </>
        ) : (
          <span className="muted">{v.phase === 'starting' ? 'Starting the training process (building the model, preparing data)…' : 'No steps recorded.'}</span>
        )}
      </div>
    </div>
  );
}

/** How often the dashboard re-reads an imported run (the service re-reads its source folder when it changed). */
const FOLLOW_MS = 5000;

export function Dashboard() {
  const v = useTraining((s) => s.current);
  const external = v?.detail?.summary.external;
  const following = external ? v!.runId : null;
  useEffect(() => {
    if (!following) return;
    const t = setInterval(() => void openRun(following, true), FOLLOW_MS);
    return () => clearInterval(t);
  }, [following]);
  if (!v)
    return (
      <div className="pad muted" data-testid="dashboard-empty">
        No run yet: set up the dataset and settings, then press Train — or reopen a run from the Runs tab.
      </div>
    );
  const active = ACTIVE.includes(v.phase);
  const canResume = (v.phase === 'paused' || v.phase === 'stopped' || v.phase === 'failed' || v.phase === 'interrupted') && v.hasCheckpoint;
  const x = v.series.step;
  // A run imported from fast-reid names its terms as fast-reid's loss_dict does (loss_cls, loss_triplet; total_loss).
  const fastreid = (v.detail?.info as { external?: { framework?: string } } | undefined)?.external?.framework === 'fastreid';
  const lossLines = [
    { label: fastreid ? 'total_loss' : 'total', values: v.series.loss, color: COLORS[0]! },
    // One line per loss term the run has; the color follows the term's place in the table, so it is stable across runs.
    ...LOSS_TERMS.flatMap((t, i) => (v.series[t.id].some((n) => !Number.isNaN(n)) ? [{ label: fastreid && t.fastreid ? t.fastreid.lossDict : t.label, values: v.series[t.id], color: COLORS[i + 1]!, right: t.rightAxis }] : [])),
  ];
  const report = v.detail?.loadReport as { counts?: Record<string, number>; layout?: string; missing?: { key: string }[]; mismatched?: { key: string; expected: number[]; got: number[] }[]; groups?: { label: string; stripped: string; keys: number; loaded: number; to: string }[]; source?: { description: string }; sourceMismatch?: string[] } | null | undefined;
  return (
    <div className="dashboard" data-testid="dashboard" data-phase={v.phase}>
      <div className="dash-head">
        <strong data-testid="dash-run-name">{v.name}</strong>
        {v.start && (
          <span className={`badge backend${backendBadge(v.start).warn ? ' warn' : ''}`} data-testid="backend-badge" title={backendBadge(v.start).title}>
            {backendBadge(v.start).text}
          </span>
        )}
        <span className={`badge phase ${v.phase}`} data-testid="train-phase">
          {external ? `external: ${v.detail?.summary.backend ?? external.framework}${external.lastChanged ? ` · changed ${new Date(external.lastChanged).toLocaleString()}` : ''}` : PHASE_TEXT[v.phase]}
        </span>
        <span className="grow" />
        <button data-testid="train-pause" disabled={v.phase !== 'running'} onClick={() => void control('pause')}>
          Pause
        </button>
        <button data-testid="train-stop" disabled={v.phase !== 'running' && v.phase !== 'starting' && v.phase !== 'paused'} onClick={() => void control('stop')}>
          Stop
        </button>
        <button className="primary" data-testid="train-resume" disabled={!canResume} title={canResume ? 'continue from the last checkpoint' : v.hasCheckpoint ? undefined : 'no checkpoint was written: start the run again'} onClick={() => void resume()}>
          Resume
        </button>
      </div>
      <Progress v={v} />
      {v.phase === 'failed' && (
        <div className="form-error" data-testid="train-crash">
          The training process failed: {v.message ?? 'no message'}.{' '}
          {v.checkpoint ? `Last checkpoint: ${checkpointText(v.checkpoint)} — Resume continues from there.` : v.hasCheckpoint ? 'Resume continues from the last checkpoint.' : 'No checkpoint was written: start the run again.'}
        </div>
      )}
      {v.start && (
        <div className="dash-facts small">
          <span data-testid="train-loss-formula">loss = {v.start.loss || '—'}</span>
          {v.start.microBatchReason && (
            <span
              className={`microbatch ${/split/.test(v.start.microBatchReason) ? 'split' : ''}`}
              data-testid="microbatch-plan"
              title="When a batch is split into micro-batches, gradients are accumulated exactly but BatchNorm statistics are computed per micro-batch (an accepted deviation)"
            >
              {/split/.test(v.start.microBatchReason) ? '⚠ ' : ''}micro-batches: {v.start.microBatchReason}
            </span>
          )}
          {v.checkpoint && (
            <span data-testid="train-checkpoint">
              last checkpoint: {checkpointText(v.checkpoint)}
            </span>
          )}
        </div>
      )}
      {report?.counts && (
        <div className="load-report small" data-testid="load-report">
          Weights ({report.layout}): {report.counts.loaded} loaded · {report.counts.skipped} skipped · {report.counts.missing} missing · {report.counts.mismatched} mismatched
          {!!report.groups?.length && <div className="muted" data-testid="load-report-groups">{report.groups.map((g) => `${g.label}${g.stripped ? ` under ${g.stripped}` : ''} (${g.keys} keys → ${g.to}, ${g.loaded} loaded)`).join(' · ')}</div>}
          {report.source && (
            <div className="muted" data-testid="load-report-source">
              model in the file: {report.source.description}
              {report.sourceMismatch?.length ? ` — this graph differs (${report.sourceMismatch.join('; ')}): the weights initialise it, its features are not the checkpoint's` : ''}
            </div>
          )}
          {!!report.mismatched?.length && <div className="muted">mismatched: {report.mismatched.slice(0, 4).map((m) => `${m.key} [${m.got}] ≠ [${m.expected}]`).join('; ')}</div>}
        </div>
      )}
      <div className="charts">
        <Chart title="Loss" testId="chart-loss" x={x} lines={lossLines} version={v.version} />
        <Chart title="ID accuracy" testId="chart-acc" x={x} lines={[{ label: 'acc', values: v.series.acc, color: COLORS[5]! }]} version={v.version} />
        <Chart title="Learning rate" testId="chart-lr" x={x} lines={[{ label: 'lr', values: v.series.lr, color: COLORS[4]! }]} version={v.version} />
        {v.evalHistory.length > 0 && (
          <Chart
            title="mAP / rank-1 by epoch"
            testId="chart-eval"
            x={v.evalHistory.map((e) => e.epoch)}
            xLabel="epoch"
            lines={[
              { label: 'mAP', values: v.evalHistory.map((e) => e.mAP), color: COLORS[0]! },
              { label: 'rank-1', values: v.evalHistory.map((e) => e.rank1), color: COLORS[2]! },
            ]}
            version={v.evalHistory.length}
            yRange={[0, 1]}
            points
          />
        )}
      </div>
      {v.evalSummary && (
        <div className="muted small" data-testid="dash-eval">
          Evaluation after epoch {v.evalSummary.epoch}: mAP {(v.evalSummary.mAP * 100).toFixed(1)}%, rank-1 {(v.evalSummary.rank1 * 100).toFixed(1)}%{v.evalSummary.mINP !== undefined ? `, mINP ${(v.evalSummary.mINP * 100).toFixed(1)}%` : ''}
        </div>
      )}
    </div>
  );
}
