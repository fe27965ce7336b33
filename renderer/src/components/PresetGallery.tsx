import { useState } from 'react';
import {
  PRESET_DEFAULTS,
  PRESET_NAMES,
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

/** The reid-strong-baseline Baselines (ResNet, IBN, SENet) and fast-reid's ResNeSt, with their head and input options. */
export function PresetGallery() {
  const [name, setName] = useState('resnet50_ibn_a');
  const [neck, setNeck] = useState(PRESET_DEFAULTS.neck);
  const [neckFeat, setNeckFeat] = useState(PRESET_DEFAULTS.neckFeat);
  const [lastStride, setLastStride] = useState<1 | 2>(PRESET_DEFAULTS.lastStride);
  const [classes, setClasses] = useState(String(PRESET_DEFAULTS.numClasses));
  const [input, setInput] = useState(`${PRESET_DEFAULTS.input[0]}x${PRESET_DEFAULTS.input[1]}`);
  const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(input.trim());
  const n = Number(classes);
  const problem = !m ? 'input size is H×W, e.g. 256x128' : !Number.isInteger(n) || n < 1 ? 'classes must be a positive whole number' : null;
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
      </div>
      <div className="preset-options">
        <label className="field">
          <span>Neck</span>
          <select data-testid="preset-neck" value={neck} onChange={(e) => setNeck(e.target.value as 'bnneck' | 'no')}>
            <option value="bnneck">BNNeck</option>
            <option value="no">none</option>
          </select>
        </label>
        <label className="field">
          <span>Eval feature</span>
          <select value={neckFeat} onChange={(e) => setNeckFeat(e.target.value as 'after' | 'before')}>
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
        <button className="primary" data-testid="preset-create" disabled={!!problem} onClick={create}>
          Create
        </button>
      </div>
    </div>
  );
}
