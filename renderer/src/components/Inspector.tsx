import { useState } from 'react';
import { classifierIds, getKind, renameNode, setFrozen, setNeck, setNeckFeat, setParams, setStatsFrozen, type GraphNode, type ParamValue } from '../../../core/index.js';
import { fmtInt, fmtShape } from '../lib/format.js';
import { collapseById, expandById } from '../store/actions.js';
import { run, useEditor } from '../store/editor.js';
import { ParamField } from './ParamField.js';

/** Model-level head settings (reid-strong-baseline MODEL.NECK and TEST.NECK_FEAT). */
function HeadSection() {
  const neck = useEditor((s) => s.history.doc.graph.nodes.find((n) => n.kind === 'neck'));
  if (!neck) return null;
  return (
    <section className="inspector-section" data-testid="head-section">
      <h4>Head</h4>
      <label className="field">
        <span>Neck</span>
        <select data-testid="head-neck" value={String(neck.params.type)} onChange={(e) => run(setNeck(e.target.value as 'bnneck' | 'no'))}>
          <option value="bnneck">BNNeck</option>
          <option value="no">none</option>
        </select>
      </label>
      <label className="field" title="TEST.NECK_FEAT: which feature is used for retrieval">
        <span>Eval feature</span>
        {neck.params.type === 'no' ? (
          // Without a BNNeck there is one feature (the pooled one): before / after BN does not apply.
          <select data-testid="head-neck-feat" value="pooled" disabled>
            <option value="pooled">pooled feature (no neck)</option>
          </select>
        ) : (
          <select data-testid="head-neck-feat" value={String(neck.params.neck_feat)} onChange={(e) => run(setNeckFeat(e.target.value as 'after' | 'before'))}>
            <option value="after">after BNNeck BN</option>
            <option value="before">before BNNeck BN</option>
          </select>
        )}
      </label>
    </section>
  );
}

function NameField({ node }: { node: GraphNode }) {
  const [text, setText] = useState(node.name);
  const [prev, setPrev] = useState(node.name);
  if (prev !== node.name) {
    setPrev(node.name);
    setText(node.name);
  }
  const commit = () => {
    if (text !== node.name && !run(renameNode(node.id, text))) setText(node.name);
  };
  return (
    <label className="field">
      <span>Name</span>
      <input data-testid="inspector-name" value={text} onChange={(e) => setText(e.target.value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />
    </label>
  );
}

/** A form generated from the registry's parameter schema; multi-edit when every selected node has the same kind. */
export function Inspector() {
  const selected = useEditor((s) => s.selectedNodes);
  const doc = useEditor((s) => s.history.doc);
  const analysis = useEditor((s) => s.analysis);
  const classes = useEditor((s) => s.classes);
  const nodes = doc.graph.nodes.filter((n) => selected.has(n.id));
  const kinds = new Set(nodes.map((n) => n.kind));
  const first = nodes[0];
  const kind = first && kinds.size === 1 ? getKind(first.kind) : undefined;
  const ids = nodes.map((n) => n.id);
  const common = (k: string): ParamValue | undefined => {
    const v = first?.params[k];
    return nodes.every((n) => n.params[k] === v) ? v : undefined;
  };
  const sized = classes === null ? null : classifierIds(doc.graph);
  const info = first && nodes.length === 1 ? analysis.nodes[first.id] : undefined;
  const allFrozen = nodes.every((n) => n.frozen);
  const stats = nodes.every((n) => n.statsFrozen === undefined) ? 'follow' : nodes.every((n) => n.statsFrozen === true) ? 'frozen' : nodes.every((n) => n.statsFrozen === false) ? 'update' : '';
  return (
    <aside className="panel inspector" data-testid="inspector">
      <div className="panel-title">Inspector</div>
      <HeadSection />
      {!nodes.length && <div className="muted pad">Select a block to edit its parameters.</div>}
      {nodes.length > 0 && !kind && <div className="muted pad">{nodes.length} blocks of different kinds selected: use the Model menu for norm and freezing actions.</div>}
      {kind && first && (
        <section className="inspector-section" data-testid="node-form">
          <h4>
            {nodes.length === 1 ? (kind.title?.(first.params) ?? kind.label) : kind.label}
            {nodes.length > 1 ? ` ×${nodes.length}` : ''}
          </h4>
          {nodes.length === 1 && <NameField node={first} />}
          {Object.entries(kind.params).map(([k, spec]) =>
            k === 'units' && sized && ids.every((id) => sized.has(id)) ? (
              // Training sets num_classes from the dataset's training identities: the document's value does not apply.
              <label key={k} className="field" title={`The document says ${String(common(k) ?? 'mixed')}; training uses the dataset's count.`}>
                <span>{spec.label ?? k}</span>
                <span data-testid="param-units-dataset">
                  {classes} <span className="muted small">set by dataset: {classes} ids</span>
                </span>
              </label>
            ) : (
              <ParamField key={k} name={k} spec={spec} value={common(k)} onChange={(v) => run(setParams(ids, { [k]: v }))} />
            ),
          )}
          {kind.freezable && (
            <>
              <label className="field">
                <span>Frozen</span>
                <input type="checkbox" data-testid="inspector-frozen" checked={allFrozen} onChange={(e) => run(setFrozen(ids, e.target.checked))} />
              </label>
              <label className="field" title="Frozen BN statistics use running mean/var and never update (separate from freezing weights)">
                <span>BN statistics</span>
                <select value={stats} onChange={(e) => run(setStatsFrozen(ids, e.target.value === 'follow' ? null : e.target.value === 'frozen'))}>
                  {stats === '' && <option value="">(mixed)</option>}
                  <option value="follow">follow frozen</option>
                  <option value="frozen">frozen</option>
                  <option value="update">update</option>
                </select>
              </label>
            </>
          )}
          {info && (
            <dl className="facts">
              <dt>Output</dt>
              <dd>{Object.entries(info.outputs).map(([p, s]) => (Object.keys(info.outputs).length > 1 ? `${p} ${fmtShape(s)}` : fmtShape(s))).join(', ')}</dd>
              <dt>Parameters</dt>
              <dd>{fmtInt(info.params)}</dd>
              <dt>Trainable</dt>
              <dd>{fmtInt(info.trainable)}</dd>
              <dt>Layers</dt>
              <dd>{info.layers}</dd>
            </dl>
          )}
          <div className="row">
            {nodes.length === 1 && kind.primitive === false && first.kind !== 'neck' && (
              <button onClick={() => expandById(first.id)} data-testid="inspector-expand">
                Expand
              </button>
            )}
            {first.group && (
              <button onClick={() => collapseById(first.group!.id)} data-testid="inspector-collapse">
                Collapse {first.group.name}
              </button>
            )}
          </div>
          <p className="muted small">{kind.description}</p>
        </section>
      )}
    </aside>
  );
}
