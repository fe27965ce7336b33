import type { EvalRecordData } from '../../../core/api/training-contract.js';
import { fmtEvalEpoch, pct } from './Results.js';

/** The last folder of a dataset root (`/data/Market-1501-v15.09.15` → `Market-1501-v15.09.15`). */
const folderName = (root: string) => root.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || root;

/**
 * A run's evaluations after training ("Evaluate on…", `eval RUN_DIR`), one row each, labelled with the dataset
 * they ran on (and whether it is the run's own), the weights' epoch, metric and engine — never mixed with the
 * training-time evaluation, which stays the run's headline. With `onSelect`, each row's "Rank lists" button
 * chooses the record whose queries the rank lists below page (`runs.queries` with its `evalId`). Test ids:
 * `eval-records`, rows `eval-record`, buttons `eval-record-ranklists`.
 */
export function EvalRecords({ records, testId = 'eval-records', selected, onSelect }: { records: EvalRecordData[] | undefined; testId?: string; selected?: string | null; onSelect?: (id: string | null) => void }) {
  if (!records?.length) return null;
  return (
    <table className="kv-table" data-testid={testId}>
      <thead>
        <tr>
          <th>dataset</th>
          <th title="the epoch of the weights these metrics were measured on">weights</th>
          <th>how</th>
          <th>mAP</th>
          <th>rank-1</th>
          <th>rank-5</th>
          <th>mINP</th>
          <th>when</th>
          {onSelect && <th />}
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.id} data-testid="eval-record" data-eval-id={r.id}>
            <td data-testid="eval-record-dataset" title={`${r.dataset.root} (${r.dataset.kind}; ${r.dataset.numQuery} queries × ${r.dataset.numGallery} gallery)`}>
              {folderName(r.dataset.root)} <span className={`badge ${r.inDomain ? '' : 'warn'}`}>{r.inDomain ? 'own dataset' : 'cross-domain'}</span>
            </td>
            <td>{fmtEvalEpoch(r)}</td>
            <td className="muted small" data-testid="eval-record-how">
              {r.metric}
              {r.reRanking ? ', re-ranked' : ''} · {r.backend}
            </td>
            <td data-testid="eval-record-map">{pct(r.results.mAP)}</td>
            <td>{pct(r.results.rank1)}</td>
            <td>{pct(r.results.rank5)}</td>
            <td data-testid="eval-record-minp">{pct(r.results.mINP)}</td>
            <td className="muted small">{new Date(r.time).toLocaleString()}</td>
            {onSelect && (
              <td>
                <button className={`mini ${selected === r.id ? 'active' : ''}`} data-testid="eval-record-ranklists" aria-pressed={selected === r.id} onClick={() => onSelect(selected === r.id ? null : r.id)}>
                  {selected === r.id ? 'shown below' : 'Rank lists'}
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
