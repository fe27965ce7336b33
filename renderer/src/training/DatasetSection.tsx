import { useEffect, useState } from 'react';
import type { TrainingSettings } from '../../../core/index.js';
import { DATASET_LAYOUTS } from '../../../core/config/datasets.js';
import type { DirEntry } from '../../../core/api/contract.js';
import { api, ClientError } from '../api/client.js';
import { dataSourceOf, editSettings, inspect, useTraining, type Inspection } from '../store/training.js';
import { Thumb, useThumbnails } from './Thumbs.js';
import { fmtCam } from '../lib/format.js';
import { nativeOpen } from '../store/native.js';

const LAYOUTS: Record<string, string> = { ...Object.fromEntries(DATASET_LAYOUTS.map((l) => [l.id, l.label])), demo: 'built-in demo' };

/** Folder picker for browser mode (the service lists folders; paths are the server's). */
function FolderPicker({ start, onPick, onCancel }: { start: string | null; onPick: (dir: string) => void; onCancel: () => void }) {
  const [dir, setDir] = useState<string | null>(start);
  const [entries, setEntries] = useState<DirEntry[]>([]);
  const [parent, setParent] = useState<string | null>(null);
  const [text, setText] = useState(start ?? '');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (dir === null) void api.call('app.info', {}).then((i) => setDir(i.documentsDir), (e: ClientError) => setError(e.message));
    else
      api.call('fs.list', { dir }).then(
        (r) => {
          setEntries(r.entries.filter((e) => e.dir));
          setParent(r.parent);
          setText(r.dir);
          setError(null);
        },
        (e: ClientError) => setError(e.message),
      );
  }, [dir]);
  return (
    <div className="folder-picker" data-testid="folder-picker">
      <div className="row">
        <input className="grow" data-testid="folder-path" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && setDir(text)} title="A folder on the machine running ReID Studio (Enter to list it)" />
        <button disabled={!parent} onClick={() => parent && setDir(parent)}>
          Up
        </button>
      </div>
      <ul className="file-list short">
        {entries.map((e) => (
          <li key={e.path} className="dir" onClick={() => setDir(e.path)}>
            📁 {e.name}
          </li>
        ))}
        {!entries.length && <li className="muted">No sub-folders.</li>}
      </ul>
      {error && <div className="form-error">{error}</div>}
      <div className="row">
        <span className="grow" />
        <button onClick={onCancel}>Cancel</button>
        <button className="primary" data-testid="folder-use" disabled={!text.startsWith('/') && !/^[A-Za-z]:/.test(text)} onClick={() => onPick(text)}>
          Use this folder
        </button>
      </div>
    </div>
  );
}

/** `imagesPerIdentity` maps an image count to how many identities have that many images. */
function Histogram({ perIdentity }: { perIdentity: Record<string, number> }) {
  const bins = Object.entries(perIdentity)
    .map(([images, ids]) => [Number(images), ids] as const)
    .sort((a, b) => a[0] - b[0]);
  const max = Math.max(1, ...bins.map((b) => b[1]));
  // A count axis (identities, 0…max) beside the bars; each bar's label is its number of images.
  return (
    <div className="histogram" data-testid="dataset-histogram" title="identities by number of training images">
      <div className="hist-axis" data-testid="histogram-axis">
        <small>{max}</small>
        <small className="hist-axis-label">ids</small>
        <small>0</small>
      </div>
      {bins.map(([images, ids]) => (
        <div key={images} className="bar" title={`${ids} identities with ${images} images`}>
          <span style={{ height: `${(ids / max) * 100}%` }} />
          <small>{images}</small>
        </div>
      ))}
    </div>
  );
}

/** `path`: the folder the user chose, shown above; the summary names the dataset root only where it differs. */
function Summary({ ins, path }: { ins: Inspection; path: string | null }) {
  const thumbs = useThumbnails(ins.samples.map((s) => s.path));
  const pids = [...new Set(ins.samples.map((s) => s.pid))];
  const p = ins.problems;
  const problems = [
    // Junk (pid −1) is dropped as RSB / fast-reid market1501.py do; their distractors (0000) stay in the
    // gallery, so only those outside it are counted as left out.
    ...(p.junkDropped ? [`${p.junkDropped} junk image${p.junkDropped === 1 ? '' : 's'} (pid −1) left out, as in the reference loaders`] : []),
    ...(p.distractorsDropped ? [`${p.distractorsDropped} distractor image${p.distractorsDropped === 1 ? '' : 's'} (pid 0000) outside the gallery left out: not one identity, so neither a class nor a query (gallery distractors are kept)`] : []),
    ...(p.unparsable.length ? [`${p.unparsable.length} file name(s) do not follow the layout, e.g. ${p.unparsable.slice(0, 3).join(', ')}`] : []),
    ...p.unreadable.slice(0, 5).map((u) => `unreadable image ${u.path}: ${u.reason}`),
    ...(p.identitiesDropped?.length ? [`${p.identitiesDropped.length} training identities dropped: none of their images could be read (${p.identitiesDropped.slice(0, 6).map((x) => x.id).join(', ')})`] : []),
    ...(p.emptyClasses?.length ? [`${p.emptyClasses.length} empty class folder(s) are not classes, e.g. ${p.emptyClasses[0]}`] : []),
    ...(p.identitiesBelowK.length ? [`${p.identitiesBelowK.length} training identities have fewer than 4 images (the P×K sampler repeats them): ${p.identitiesBelowK.slice(0, 6).map((x) => `#${x.pid} (${x.images})`).join(', ')}`] : []),
  ];
  return (
    <div data-testid="dataset-summary">
      <div className="muted small">
        {LAYOUTS[ins.kind] ?? ins.kind}
        {ins.root !== path && (
          <>
            {' '}
            in <code>{ins.root}</code>
          </>
        )}
      </div>
      <table className="kv-table">
        <thead>
          <tr>
            <th />
            <th>identities</th>
            <th>images</th>
            <th>cameras</th>
          </tr>
        </thead>
        <tbody>
          {(['train', 'query', 'gallery'] as const).map((k) => (
            <tr key={k} data-testid={`dataset-${k}`}>
              <th>{k}</th>
              <td>{ins.summary[k].identities}</td>
              <td>{ins.summary[k].images}</td>
              <td>{ins.summary[k].cameras}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {ins.summary.evaluation && (
        <div className="muted small" data-testid="dataset-evaluation">
          Evaluation: {ins.summary.evaluation}; {ins.summary.validQueries} of {ins.summary.query.images} queries have a match.
          {(ins.summary.notes ?? []).map((n) => ` ${n}.`).join('')}
        </div>
      )}
      <div className="muted small">training identities by number of images</div>
      <Histogram perIdentity={ins.summary.train.imagesPerIdentity} />
      <div className="sample-grid" data-testid="dataset-samples">
        {pids.map((pid) => (
          <div key={pid} className="sample-row">
            <span className="muted small">#{pid}</span>
            {ins.samples
              .filter((s) => s.pid === pid)
              .map((s) => (
                <Thumb key={s.path} src={thumbs.get(s.path)} caption={fmtCam(s.camid)} testId="sample-thumb" />
              ))}
          </div>
        ))}
      </div>
      <ul className="problem-list" data-testid="dataset-problems">
        {problems.map((m) => (
          <li key={m} className="warning">
            {m}
          </li>
        ))}
        {!problems.length && <li className="ok">No problems found.</li>}
      </ul>
    </div>
  );
}

export function DatasetSection({ settings }: { settings: TrainingSettings }) {
  const { inspection, inspecting, inspectError, inspectedKey } = useTraining();
  const [picking, setPicking] = useState(false);
  const source = dataSourceOf(settings);
  const key = source ? JSON.stringify(source) : null;
  // Folders are read when chosen or reopened. The demo dataset is generated on first use (the
  // service is busy for a while with the larger sizes), so it is only inspected on request.
  useEffect(() => {
    if (source?.kind === 'folder' && key !== useTraining.getState().inspectedKey) void inspect(source);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const pickFolder = async (path: string) => {
    setPicking(false);
    // Detect the layout first; the settings keep what was detected so the run reads the same layout.
    const r = await inspect({ kind: 'folder', path });
    if (!r) return; // the inspection error says what is wrong with the folder
    editSettings('dataset folder', (s) => {
      s.dataset.path = path;
      s.dataset.kind = r.kind as TrainingSettings['dataset']['kind'];
    });
  };
  return (
    <section className="train-section" data-testid="dataset-section">
      <h4>Dataset</h4>
      <div className="row">
        <select
          data-testid="dataset-kind"
          value={settings.dataset.kind === 'demo' ? `demo:${settings.dataset.demoSize}` : 'folder'}
          onChange={(e) => {
            const v = e.target.value;
            if (v === 'folder') setPicking(true);
            else {
              const size = v.slice(5) as 'tiny' | 'small' | 'medium';
              editSettings('demo dataset', (s) => ((s.dataset.kind = 'demo'), (s.dataset.demoSize = size)));
              void inspect({ kind: 'demo', size });
            }
          }}
        >
          <option value="demo:tiny">Demo dataset — tiny</option>
          <option value="demo:small">Demo dataset — small</option>
          <option value="demo:medium">Demo dataset — medium</option>
          <option value="folder">{settings.dataset.kind !== 'demo' && settings.dataset.path ? `Folder (${LAYOUTS[settings.dataset.kind]})` : 'Folder…'}</option>
        </select>
        <button data-testid="dataset-choose" onClick={() => void nativeOpen('folder').then((r) => (r.native ? r.path && void pickFolder(r.path) : setPicking(true)))}>
          Choose folder…
        </button>
      </div>
      {settings.dataset.kind !== 'demo' && <div className="small muted" title={settings.dataset.path}>{settings.dataset.path ?? 'no folder chosen'}</div>}
      {picking && <FolderPicker start={settings.dataset.path ?? null} onPick={(p) => void pickFolder(p)} onCancel={() => setPicking(false)} />}
      {inspecting && <div className="muted" data-testid="dataset-inspecting">{source?.kind === 'demo' ? 'Preparing the demo dataset (generated once, then cached)…' : 'Reading the dataset…'}</div>}
      {inspectError && (
        <div className="form-error" data-testid="dataset-error">
          {inspectError}
        </div>
      )}
      {inspection && !inspecting && inspectedKey === key && <Summary ins={inspection} path={settings.dataset.kind === 'demo' ? null : (settings.dataset.path ?? null)} />}
      {source?.kind === 'demo' && !inspecting && inspectedKey !== key && (
        <div className="row">
          <span className="muted small grow">Synthetic pedestrians with identities and cameras; generated on first use, then cached.</span>
          <button data-testid="dataset-inspect" onClick={() => void inspect(source)}>
            Show summary
          </button>
        </div>
      )}
    </section>
  );
}
