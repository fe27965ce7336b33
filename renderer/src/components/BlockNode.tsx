import { memo } from 'react';
import { Handle, Position, useStore, type NodeProps } from '@xyflow/react';
import { EXPANDABLE_KINDS, getKind, normSlotOfKind, type GraphNode } from '../../../core/index.js';
import { fmtCount, fmtShape, NORM_LABEL } from '../lib/format.js';
import { expandById } from '../store/actions.js';
import type { BlockNode as BlockNodeType } from '../store/projection.js';

/** The norm badge: the node's norm slot (stages, blocks) or its own kind (norm primitives). */
export function normOf(n: GraphNode): string | undefined {
  const kind = getKind(n.kind);
  if (kind?.hasNormSlot && typeof n.params.norm === 'string') return NORM_LABEL[n.params.norm];
  if (n.kind === 'stem') return 'BN';
  const slot = normSlotOfKind(n.kind);
  return slot ? NORM_LABEL[slot] : undefined;
}

/** Below this zoom card text is unreadable: cards drop to kind + badges (fewer DOM nodes to paint). */
export const FAR_ZOOM = 0.3;

function portTop(i: number, count: number): string {
  return `${((i + 1) / (count + 1)) * 100}%`;
}

/** One block on the canvas. Memoised: React Flow re-renders it only when its projection object changes. */
function BlockNodeView({ id, data, selected }: NodeProps<BlockNodeType>) {
  const { node, info, diag, classes } = data;
  const kind = getKind(node.kind);
  const norm = normOf(node);
  const out = info && Object.values(info.outputs)[0];
  const state = diag?.severity === 'error' ? 'error' : diag ? 'warning' : 'ok';
  const title = kind?.title?.(node.params) ?? kind?.label ?? node.kind;
  const portLabels = kind?.outputLabels?.(node.params) ?? {};
  const expandable = (EXPANDABLE_KINDS as readonly string[]).includes(node.kind);
  const statsFrozen = node.statsFrozen ?? !!node.frozen;
  // One boolean per card: re-renders only when the zoom crosses the threshold, not on every pan frame.
  const far = useStore((st) => st.transform[2] < FAR_ZOOM);
  if (far)
    return (
      <div className={`block far cat-${kind?.category ?? 'unknown'} state-${state}${selected ? ' selected' : ''}${node.frozen ? ' frozen' : ''}`} data-testid={`node-${id}`} data-state={state}>
        {(kind?.inputs ?? []).map((p, i, all) => (
          <Handle key={p.name} type="target" position={Position.Left} id={p.name} style={{ top: portTop(i, all.length) }} />
        ))}
        <div className="block-head">
          <span className="block-kind" data-testid="block-title">{title}</span>
          <span className="badges">
            {norm && <span className={`badge norm norm-${norm.toLowerCase().replace('-', '')}`}>{norm}</span>}
            {node.frozen && <span className="badge frozen">frozen</span>}
          </span>
        </div>
        {(kind?.outputs ?? []).map((p, i, all) => (
          <Handle key={p.name} type="source" position={Position.Right} id={p.name} style={{ top: portTop(i, all.length) }} />
        ))}
      </div>
    );
  return (
    <div
      className={`block cat-${kind?.category ?? 'unknown'} state-${state}${selected ? ' selected' : ''}${node.frozen ? ' frozen' : ''}`}
      data-testid={`node-${id}`}
      data-state={state}
      title={diag?.message}
    >
      {(kind?.inputs ?? []).map((p, i, all) => (
        <Handle key={p.name} type="target" position={Position.Left} id={p.name} style={{ top: portTop(i, all.length) }} data-testid={`in-${id}-${p.name}`}>
          {all.length > 1 && <span className="port-label in">{p.label ?? p.name}</span>}
        </Handle>
      ))}
      <div className="block-head">
        <span className="block-kind" data-testid="block-title">{title}</span>
        <span className="badges">
          {norm && (
            <span className={`badge norm norm-${norm.toLowerCase().replace('-', '')}`} data-testid="badge-norm">
              {norm}
            </span>
          )}
          {node.frozen && (
            <span className="badge frozen" data-testid="badge-frozen" title={norm && !statsFrozen ? 'weights frozen' : norm ? 'weights and BN statistics frozen' : 'weights frozen'}>
              frozen
            </span>
          )}
          {node.frozen && !statsFrozen && norm && (
            // Frozen weights do not stop BatchNorm's running statistics from updating in training: say so.
            <span className="badge stats-live" data-testid="badge-stats-live" title="weights frozen, BN statistics still update in training">
              BN stats ↻
            </span>
          )}
          {classes !== undefined && (
            // Training sizes the classifier to the dataset's identities (num_classes = #train pids).
            <span className="badge dataset" data-testid="badge-dataset" title={`set by dataset: ${classes} ids (training sizes the classifier to the dataset's identities)`}>
              dataset
            </span>
          )}
          {!node.frozen && statsFrozen && norm && (
            <span className="badge stats" title="BN statistics frozen">
              stats
            </span>
          )}
        </span>
      </div>
      <div className="block-name" title={node.name}>
        {node.name}
      </div>
      {kind?.describe && <div className="block-desc">{kind.describe(classes !== undefined ? { ...node.params, units: classes } : node.params)}</div>}
      <div className="block-foot">
        <span data-testid="node-shape">{fmtShape(out)}</span>
        {info && info.params > 0 && (
          <span className="params" data-testid="node-params" title={`${info.params.toLocaleString('en-US')} parameters, ${info.trainable.toLocaleString('en-US')} trainable`}>
            {fmtCount(info.params)}
            {info.trainable < info.params ? ` (${fmtCount(info.trainable)} tr.)` : ''}
          </span>
        )}
      </div>
      {diag && (
        <div className={`block-diag ${diag.severity}`} data-testid="node-error">
          {diag.message}
        </div>
      )}
      {(expandable || node.group) && (
        <div className="block-group">
          {node.group && <span className="group-tag">in {node.group.name || node.group.kind}</span>}
          {expandable && (
            <button
              className="mini"
              data-testid={`expand-${id}`}
              title="Expand in place into its blocks"
              onClick={(e) => {
                e.stopPropagation();
                expandById(id);
              }}
            >
              ⊞ expand
            </button>
          )}
        </div>
      )}
      {(kind?.outputs ?? []).map((p, i, all) => (
        <Handle key={p.name} type="source" position={Position.Right} id={p.name} style={{ top: portTop(i, all.length) }} data-testid={`out-${id}-${p.name}`}>
          {all.length > 1 && <span className="port-label out">{portLabels[p.name] ?? p.label ?? p.name}</span>}
        </Handle>
      ))}
    </div>
  );
}

export const BlockNode = memo(BlockNodeView);
