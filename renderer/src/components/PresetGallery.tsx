import { useState } from 'react';
import {
  MGN_PRESET_NAMES,
  PRESET_DEFAULTS,
  PRESET_NAMES,
  presetProblem,
  RESNEST_ARCHS,
  RESNEST_PRESET_NAMES,
  RESNET_DEPTHS,
  SENET_ARCHS,
  SENET_PRESET_NAMES,
  type Depth,
  type ResnestArch,
  type SenetArch,
} from '../../../core/index.js';
import { newBlank, newFromPreset } from '../store/files.js';
import { useEditor } from '../store/editor.js';

/**
 * fast-reid's MGN presets (core/presets/mgn.ts) with their measured parity (README "fast-reid MGN": eval
 * features of fast-reid's own build_model on mgn_R50-ibn.yml, test/parity/fr-mgn.test.ts).
 */
const MGN_CARDS: Record<string, { trunk: string; parity: string }> = {
  mgn_R50: { trunk: 'ResNet-50 trunk', parity: 'BatchNorm trunk (parity measured on -ibn)' },
  'mgn_R50-ibn': { trunk: 'ResNet-50-IBN-a trunk', parity: 'eval features 1.0e-6 · max|ref| vs fast-reid' },
};

/** The reid-strong-baseline Baselines (ResNet, IBN, SENet), fast-reid's ResNeSt and MGN, with their head and input options. */
export function PresetGallery() {
  const [name, setName] = useState('resnet50_ibn_a');
  const [neck, setNeck] = useState(PRESET_DEFAULTS.neck);
  const [neckFeat, setNeckFeat] = useState(PRESET_DEFAULTS.neckFeat);
  const [lastStride, setLastStride] = useState<1 | 2>(PRESET_DEFAULTS.lastStride);
  const [classes, setClasses] = useState(String(PRESET_DEFAULTS.numClasses));
  const [input, setInput] = useState(`${PRESET_DEFAULTS.input[0]}x${PRESET_DEFAULTS.input[1]}`);
  const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(input.trim());
  const n = Number(classes);
  const mgn = MGN_PRESET_NAMES.includes(name);
  // The format here; the bounds (input 8–2048 px, classes, MGN's stripe cuts) from the editor's own graph check.
  const problem = !m
    ? 'input size is H×W, e.g. 256x128'
    : !Number.isInteger(n) || n < 1
      ? 'classes must be a positive whole number'
      : presetProblem(name, { neck, neckFeat, lastStride, numClasses: n, input: [Number(m[1]), Number(m[2])] });
  const create = () => {
    if (problem || !m) return;
    newFromPreset(name, { neck, neckFeat, lastStride, numClasses: n, input: [Number(m[1]), Number(m[2])] });
  };
  return (
    <div className="dialog wide gallery-dialog" data-testid="preset-gallery">
      <h3>New from preset</h3>
      <div className="gallery">
        {PRESET_NAMES.map((p) => {
          const depth = p.replace(/_ibn_[ab]$/, '') as Depth;
          const spec = RESNET_DEPTHS[depth];
          return (
            <button key={p} className={`preset-card ${p === name ? 'active' : ''}`} data-testid={`preset-${p}`} onClick={() => setName(p)} onDoubleClick={create}>
              <strong>{p}</strong>
              <span>
                {spec.block === 'bottleneck' ? 'Bottleneck' : 'Basic'} [{spec.layers.join(', ')}]
              </span>
              <span className="muted">{p.endsWith('_ibn_a') ? 'IBN-a in layer1–3' : p.endsWith('_ibn_b') ? 'IBN-b: IN in stem, layer1–2' : 'BatchNorm'}</span>
            </button>
          );
        })}
        {SENET_PRESET_NAMES.map((p) => {
          const spec = SENET_ARCHS[p as SenetArch];
          return (
            <button key={p} className={`preset-card ${p === name ? 'active' : ''}`} data-testid={`preset-${p}`} onClick={() => setName(p)} onDoubleClick={create}>
              <strong>{p}</strong>
              <span>
                SE bottleneck [{spec.layers.join(', ')}]
              </span>
              <span className="muted">{spec.groups > 1 ? `${spec.groups} groups, SE` : 'squeeze-excitation'}</span>
            </button>
          );
        })}
        {RESNEST_PRESET_NAMES.map((p) => {
          const spec = RESNEST_ARCHS[p as ResnestArch];
          return (
            <button key={p} className={`preset-card ${p === name ? 'active' : ''}`} data-testid={`preset-${p}`} onClick={() => setName(p)} onDoubleClick={create}>
              <strong>{p}</strong>
              <span>ResNeSt bottleneck [{spec.layers.join(', ')}]</span>
              <span className="muted">split attention, radix 2 (fast-reid)</span>
            </button>
          );
        })}
        {MGN_PRESET_NAMES.map((p) => (
          <button key={p} className={`preset-card ${p === name ? 'active' : ''}`} data-testid={`preset-${p}`} onClick={() => setName(p)} onDoubleClick={create}>
            <strong>{p}</strong>
            <span>MGN: {MGN_CARDS[p]?.trunk}, global + 2 + 3 stripes, 8 heads</span>
            <span className="muted" data-testid={`preset-parity-${p}`}>
              {MGN_CARDS[p]?.parity}
            </span>
          </button>
        ))}
      </div>
      <div className="preset-options">
        <label className="field">
          <span>Neck</span>
          <select data-testid="preset-neck" value={neck} disabled={mgn} title={mgn ? "MGN's eight heads have fast-reid's BNNeck" : undefined} onChange={(e) => setNeck(e.target.value as 'bnneck' | 'no')}>
            <option value="bnneck">BNNeck</option>
            <option value="no">none</option>
          </select>
        </label>
        <label className="field">
          <span>Eval feature</span>
          <select value={neckFeat} disabled={mgn} onChange={(e) => setNeckFeat(e.target.value as 'after' | 'before')}>
            <option value="after">after BN</option>
            <option value="before">before BN</option>
          </select>
        </label>
        <label className="field">
          <span>Last stride</span>
          <select data-testid="preset-last-stride" value={lastStride} onChange={(e) => setLastStride(Number(e.target.value) as 1 | 2)}>
            <option value={1}>1</option>
            <option value={2}>2</option>
          </select>
        </label>
        <label className="field">
          <span>Classes</span>
          <input data-testid="preset-classes" value={classes} onChange={(e) => setClasses(e.target.value)} />
        </label>
        <label className="field">
          <span>Input H×W</span>
          <input data-testid="preset-input" value={input} onChange={(e) => setInput(e.target.value)} />
        </label>
      </div>
      {problem && <div className="form-error">{problem}</div>}
      <div className="dialog-buttons">
        <button onClick={newBlank}>Blank canvas</button>
        <span className="spacer" />
        <button onClick={() => useEditor.setState({ dialog: null })}>Cancel</button>
        <button className="primary" data-testid="preset-create" disabled={!!problem} title={problem ?? undefined} onClick={create}>
          Create
        </button>
      </div>
    </div>
  );
}
