import { useMemo, useState } from 'react';
import { useReactFlow } from '@xyflow/react';
import { KINDS, type Category } from '../../../core/index.js';
import { addAt, DRAG_MIME } from './Canvas.js';

const CATEGORY_LABEL: Record<Category, string> = {
  io: 'Input / output',
  blocks: 'ResNet blocks',
  layers: 'Layers',
  normalization: 'Normalization',
  pooling: 'Pooling',
  head: 'Head',
};
const ORDER: Category[] = ['io', 'blocks', 'layers', 'normalization', 'pooling', 'head'];

/** Block kinds from the registry, by category, with search. Drag onto the canvas (or double-click) to add. */
export function Palette() {
  const [q, setQ] = useState('');
  const rf = useReactFlow();
  const groups = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const hit = KINDS.filter((k) => !needle || `${k.label} ${k.id} ${k.description}`.toLowerCase().includes(needle));
    return ORDER.map((c) => ({ c, kinds: hit.filter((k) => k.category === c) })).filter((g) => g.kinds.length);
  }, [q]);
  const addCentered = (kind: string) => {
    const el = document.querySelector('.canvas')?.getBoundingClientRect();
    const p = el ? rf.screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 2 }) : { x: 0, y: 0 };
    addAt(kind, p);
  };
  return (
    <aside className="panel palette" data-testid="palette">
      <div className="panel-title">Blocks</div>
      <input className="search" placeholder="Search blocks…" value={q} onChange={(e) => setQ(e.target.value)} data-testid="palette-search" />
      <div className="palette-list">
        {groups.map(({ c, kinds }) => (
          <section key={c}>
            <h4>{CATEGORY_LABEL[c]}</h4>
            {kinds.map((k) => (
              <div
                key={k.id}
                className={`palette-item cat-${k.category}`}
                draggable
                data-testid={`palette-${k.id}`}
                title={`${k.description}\nDrag onto the canvas, or double-click to add.`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_MIME, k.id);
                  e.dataTransfer.effectAllowed = 'copy';
                }}
                onDoubleClick={() => addCentered(k.id)}
              >
                <span className="dot" />
                {k.label}
              </div>
            ))}
          </section>
        ))}
        {!groups.length && <div className="muted">No block matches “{q}”.</div>}
      </div>
    </aside>
  );
}
