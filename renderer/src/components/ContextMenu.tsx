import { ACTIONS } from '../store/actions.js';
import { useEditor } from '../store/editor.js';

const MENU_IDS = [
  'model.ibn', 'model.bn', 'model.in', 'model.ibnPlacement', '-',
  'model.freeze', 'model.unfreeze', 'model.freezeBackbone', 'model.unfreezeBackbone', 'model.statsOn', 'model.statsOff', '-',
  'model.expand', 'model.collapse', '-',
  'edit.cut', 'edit.copy', 'edit.paste', 'edit.duplicate', 'edit.delete', 'edit.selectAll', '-', 'view.layout',
];

/** Right-click menu on the canvas: the selection's actions from the shared action table. */
export function ContextMenu() {
  const menu = useEditor((s) => s.contextMenu);
  return menu ? <MenuBody x={menu.x} y={menu.y} /> : null;
}

function MenuBody({ x, y }: { x: number; y: number }) {
  const state = useEditor();
  const menu = { x, y };
  const close = () => useEditor.setState({ contextMenu: null });
  return (
    <>
      <div className="menu-backdrop" onClick={close} onContextMenu={(e) => (e.preventDefault(), close())} />
      <ul className="menu context" style={{ left: Math.min(menu.x, window.innerWidth - 240), top: Math.min(menu.y, window.innerHeight - 560) }} data-testid="context-menu">
        {MENU_IDS.map((id, i) => {
          if (id === '-') return <li key={i} className="sep" />;
          const a = ACTIONS.find((x) => x.id === id)!;
          const enabled = !a.enabled || a.enabled(state);
          return (
            <li key={id}>
              <button disabled={!enabled} data-testid={`menu-${id}`} onClick={() => (close(), a.run())}>
                <span>{a.label}</span>
                {a.keys && <kbd>{a.keys.replace('Mod', 'Ctrl')}</kbd>}
              </button>
            </li>
          );
        })}
      </ul>
    </>
  );
}
