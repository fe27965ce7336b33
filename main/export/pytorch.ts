/**
 * The `pytorch` export: a standalone `model.py` (plain torch, no framework) generated from the analysed
 * layer list, and the weights as a torch.load-able `.pth` state_dict in reid-strong-baseline's key layout.
 *
 * Generic over the primitive layers (core/graph/evaluate.ts), never preset-specific:
 *  - every layer with state becomes a torch module registered under its dotted name (`base.layer1.0.bn1`)
 *    through a tree of plain container modules, so `state_dict()` keys are exactly weightSpecs' torch keys;
 *  - the forward follows the layer graph (SSA variables in topological order, freed after their last use);
 *    eval mode returns the eval feature, training mode (logits, train feature) like RSB's Baseline;
 *  - BNNeck (freezeShift): bias.requires_grad False; frozen layers: requires_grad False; layers with frozen
 *    statistics stay in eval mode when the model is put in training mode (overridden `train()`);
 *  - IBN-a: InstanceNorm on the first floor(C·ratio) channels, BatchNorm on the rest, IN first;
 *  - max pooling pads with −∞ (nn.MaxPool2d's behaviour), convolutions pad symmetrically with zeros.
 */
import { getKind, KINDS, pyFloat, pyInt, pyStr, TorchSourceError, weightSpecs, type CompiledModel, type Layer, type PrimitiveKind } from '../../core/index.js';
import { ExportError } from './errors.js';
import type { ExportPreprocessing } from './preprocessing.js';

/**
 * Names a module path segment must not take: attributes of every nn.Module (add_module refuses them) and
 * the generated class's own. Lower-case public methods of torch 1.13–2.x plus everything private.
 */
const RESERVED = new Set([
  'T_destination', 'add_module', 'apply', 'bfloat16', 'buffers', 'children', 'compile', 'cpu', 'cuda', 'double', 'dump_patches', 'eval',
  'extra_repr', 'float', 'forward', 'get_buffer', 'get_extra_state', 'get_parameter', 'get_submodule', 'half', 'ipu', 'load_state_dict',
  'modules', 'mtia', 'named_buffers', 'named_children', 'named_modules', 'named_parameters', 'parameters', 'register_backward_hook',
  'register_buffer', 'register_forward_hook', 'register_forward_pre_hook', 'register_full_backward_hook', 'register_full_backward_pre_hook',
  'register_load_state_dict_post_hook', 'register_load_state_dict_pre_hook', 'register_module', 'register_parameter',
  'register_state_dict_hook', 'register_state_dict_pre_hook', 'register_state_dict_post_hook', 'requires_grad_', 'set_extra_state',
  'set_submodule', 'share_memory', 'smart_apply', 'state_dict', 'to', 'to_empty', 'train', 'training', 'type', 'xpu', 'zero_grad',
  'call_super_init', 'STATS_FROZEN', 'INPUT_SHAPE',
]);

/** Problems that keep the layer names from forming a PyTorch module tree with the same state_dict keys. */
export function torchNameProblems(layers: Layer[]): string[] {
  const problems: string[] = [];
  const names = new Set(layers.map((l) => l.name));
  for (const l of layers) {
    if (getKind(l.kind)?.imageInput) continue;
    const parts = l.name.split('.');
    for (const p of parts) {
      if (!p) problems.push(`layer name "${l.name}" has an empty part`);
      else if (p.startsWith('_') || RESERVED.has(p)) problems.push(`layer name "${l.name}": "${p}" is reserved by torch.nn.Module; rename the block`);
    }
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('.');
      if (names.has(prefix) && prefix !== l.name) problems.push(`layer "${prefix}" is also the parent of layer "${l.name}": a PyTorch module cannot be both; rename one of them`);
    }
  }
  const keys = new Map<string, string>();
  for (const l of layers)
    for (const s of weightSpecs(l)) {
      const other = keys.get(s.torchKey);
      if (other) problems.push(`layers "${other}" and "${l.name}" both map to the state_dict key ${s.torchKey}`);
      keys.set(s.torchKey, l.name);
    }
  return [...new Set(problems)];
}

/** The primitive kind of a layer (its `lower.torch` hooks give the module source). */
function primitiveOf(l: Layer): PrimitiveKind {
  const k = getKind(l.kind);
  if (k?.primitive !== true) throw new ExportError(`${l.name}: no PyTorch module for layer kind "${l.kind}"`);
  return k;
}

/** The torch module constructor of a layer, or null when the layer is pure data flow (input, add). */
function moduleExpr(l: Layer): string | null {
  return primitiveOf(l).lower.torch.module(l);
}

/** Python classes the kinds' module expressions use (IBN, GeM, …), each kind's once, in registry order. */
const KIND_CLASSES = KINDS.flatMap((k) => (k.primitive === true && k.lower.torch.classes ? [k.lower.torch.classes] : [])).join('\n\n');

const PRELUDE = `import torch
import torch.nn as nn
import torch.nn.functional as F


class Node(nn.Module):
    """A namespace for child modules (the dotted state_dict prefixes such as \`base\` or \`base.layer1\`)."""


${KIND_CLASSES}

def _register(root, name, module):
    """Registers \`module\` under the dotted \`name\`, creating the parent namespaces."""
    *parents, leaf = name.split('.')
    node = root
    for part in parents:
        child = node._modules.get(part)
        if child is None:
            child = Node()
            node.add_module(part, child)
        node = child
    node.add_module(leaf, module)
`;

export interface ModelPyOptions {
  /** Framework modules off the forward path that the state dict holds (main/export/rsb-layout.ts). */
  unused?: { name: string; torch: string }[];
  /** Shown in the docstring (graph file or preset name). */
  title?: string;
  /** File name of the weights next to model.py. */
  weightsFile?: string;
  /** Key layout of the weights file: RSB's Baseline (default) or fast-reid's `{'model': …}` (fastreid-layout.ts). */
  layout?: 'rsb' | 'fastreid';
  /** The input preprocessing, written as constants and a `preprocess` function. */
  preprocessing?: ExportPreprocessing;
}

const PIL_FILTER = { bilinear: 'BILINEAR', bicubic: 'BICUBIC' } as const;

/** model.py's preprocessing constants and `preprocess` (PIL image → NCHW float tensor). */
function preprocessingPy(p: ExportPreprocessing): string {
  const tuple = (xs: number[]) => `(${xs.map(pyFloat).join(', ')})`;
  return `

# The preprocessing the model expects: PIL resize to INPUT_SIZE (height, width) with INTERPOLATION, RGB scaled
# to 0-1 (torchvision ToTensor), then normalised per channel. fast-reid's MODEL.PIXEL_MEAN / PIXEL_STD are
# these values x 255 (it normalises 0-255 pixels).
INPUT_SIZE = (${pyInt(p.size[0])}, ${pyInt(p.size[1])})
PIXEL_MEAN = ${tuple(p.mean)}
PIXEL_STD = ${tuple(p.std)}
INTERPOLATION = ${pyStr(p.interpolation)}


def preprocess(image):
    """A PIL image -> a [1, 3, H, W] float tensor, as the app feeds the model (T.Resize, ToTensor, Normalize)."""
    from PIL import Image
    image = image.convert('RGB').resize((INPUT_SIZE[1], INPUT_SIZE[0]), Image.${PIL_FILTER[p.interpolation]})
    x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(INPUT_SIZE[0], INPUT_SIZE[1], 3)
    x = x.permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)
`;
}

/** Tensors of a framework's module that is off the forward path (main/export/rsb-layout.ts). */
const UNUSED_PY = `

class _Unused(nn.Module):
    """Tensors a framework's module holds off the forward path (reid-strong-baseline's unused ImageNet fc), kept
    as buffers so a strict load of the framework's state_dict works; not parameters of this model."""

    def __init__(self, **shapes):
        super().__init__()
        for name, shape in shapes.items():
            self.register_buffer(name, torch.zeros(shape))
`;

/** model.py's `load_weights`: either key layout, strict. */
const LOADER_PY = `

# fast-reid key layout (fastreid/modeling/meta_arch/baseline.py, heads/embedding_head.py) -> this module's.
_FASTREID_PREFIXES = (('backbone.', 'base.'), ('heads.bottleneck.0.', 'bottleneck.'), ('heads.pool_layer.', 'gap.'))


def _from_fastreid(key, own=()):
    # fast-reid MGN (meta_arch/mgn.py): the module names are fast-reid's own; each head's class weight
    # bX_head.weight is this module's bX_head.classifier.weight.
    if key in own:
        return key
    head = key[:-len('.weight')]
    if key.endswith('_head.weight') and head[:1] == 'b' and head[1:-len('_head')].isdigit():
        return head + '.classifier.weight'
    if key == 'heads.weight':
        return 'classifier.weight'
    for fr, ours in _FASTREID_PREFIXES:
        if key.startswith(fr):
            return ours + key[len(fr):]
    return key


def load_weights(model, path):
    """Loads model.pth in either layout, strictly: a plain state_dict (reid-strong-baseline keys) or
    fast-reid's {'model': state_dict} with backbone.* / heads.* keys."""
    state = torch.load(path, map_location='cpu')
    if isinstance(state, dict) and isinstance(state.get('model'), dict):
        own = set(model.state_dict().keys())
        state = {_from_fastreid(k, own): v for k, v in state['model'].items()}
    model.load_state_dict(state, strict=True)
    return model
`;

/** The text of model.py for the compiled model (its `layers` are the ones that feed an output). Throws ExportError. */
export function generateModelPy(compiled: CompiledModel, opts: ModelPyOptions = {}): string {
  try {
    return modelPy(compiled, opts);
  } catch (e) {
    if (e instanceof TorchSourceError) throw new ExportError(e.message);
    throw e;
  }
}

function modelPy(compiled: CompiledModel, opts: ModelPyOptions): string {
  const layers = compiled.layers;
  const problems = torchNameProblems(layers);
  if (problems.length) throw new ExportError(problems.join('; '));
  const { roles } = compiled.metadata;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const inputLayer = layers.find((l) => getKind(l.kind)?.imageInput);
  if (!inputLayer) throw new ExportError('the model has no image input');
  const [h, w, c] = inputLayer.shape as [number, number, number];

  // Layers the eval feature needs run in both modes; the rest (classifier, …) only in training mode.
  const evalSet = new Set<string>();
  const stack = [roles.evalFeature];
  while (stack.length) {
    const n = stack.pop()!;
    if (evalSet.has(n)) continue;
    evalSet.add(n);
    stack.push(...(byName.get(n)?.inputs ?? []));
  }
  const order = [...layers.filter((l) => evalSet.has(l.name)), ...layers.filter((l) => !evalSet.has(l.name))];
  const varOf = new Map(order.map((l, i) => [l.name, `x${i}`]));
  const v = (name: string) => {
    const x = varOf.get(name);
    if (!x) throw new ExportError(`layer ${name} is not part of the model`);
    return x;
  };

  // __init__
  const init: string[] = [];
  const statsFrozen: string[] = [];
  for (const l of layers) {
    const expr = moduleExpr(l);
    if (!expr) continue;
    init.push(`        _register(self, ${pyStr(l.name)}, ${expr})`);
    const specs = weightSpecs(l);
    if (l.frozen && specs.some((s) => !s.buffer)) init.push(`        self.get_submodule(${pyStr(l.name)}).requires_grad_(False)  # frozen in ReID Studio`);
    else for (const line of primitiveOf(l).lower.torch.initLines?.(l, `self.get_submodule(${pyStr(l.name)})`) ?? []) init.push(`        ${line}`);
    if (l.statsFrozen && getKind(l.kind)?.hasBnStats) statsFrozen.push(l.name);
  }
  for (const m of opts.unused ?? []) init.push(`        _register(self, ${pyStr(m.name)}, ${m.torch})  # reid-strong-baseline keeps it; not on the forward path`);
  if (!init.length) init.push('        pass');

  // forward: SSA lines, each value deleted after its last use (eval part, then the training-only part).
  const evalCount = layers.filter((l) => evalSet.has(l.name)).length;
  const trainOuts = [roles.logits, roles.trainFeature].filter((x): x is string => !!x);
  const lastUse = new Map<string, number>();
  order.forEach((l, i) => l.inputs.forEach((inp) => lastUse.set(inp, i)));
  lastUse.set(roles.evalFeature, Math.max(lastUse.get(roles.evalFeature) ?? -1, evalCount - 1));
  for (const t of trainOuts) lastUse.set(t, order.length); // returned at the end
  const fwd: string[] = ['        m = self.get_submodule'];
  order.forEach((l, i) => {
    const out = v(l.name);
    const ins = l.inputs.map(v);
    const comment = `  # ${l.name}`;
    const expr = primitiveOf(l).lower.torch.expr;
    if (expr) fwd.push(`        ${out} = ${expr(ins)}${comment}`);
    else fwd.push(`        ${out} = m(${pyStr(l.name)})(${ins.join(', ')})`);
    const dead = [...new Set(l.inputs)].filter((inp) => lastUse.get(inp) === i).map(v);
    if (dead.length) fwd.push(`        del ${dead.join(', ')}`);
    if (i === evalCount - 1) {
      fwd.push('        if not self.training:');
      fwd.push(`            return ${v(roles.evalFeature)}  # eval feature`);
      if (lastUse.get(roles.evalFeature) === i && !trainOuts.includes(roles.evalFeature)) fwd.push(`        del ${v(roles.evalFeature)}`);
    }
  });
  const logits = roles.logits ? v(roles.logits) : 'None';
  const feat = roles.trainFeature ? v(roles.trainFeature) : 'None';
  fwd.push(`        return ${logits}, ${feat}  # (logits, train feature)`);

  const weights = opts.weightsFile ?? 'model.pth';
  // The title goes into a docstring: keep it to one line without quotes or backslashes.
  const title = opts.title ? ` (${opts.title.replace(/[\\"\r\n]/g, ' ').slice(0, 200)})` : '';
  const fr = opts.layout === 'fastreid';
  const pre = opts.preprocessing;
  const layoutText = fr
    ? `${weights} is in fast-reid's checkpoint layout: {'model': state_dict} with backbone.* / heads.* keys, which
fast-reid's Checkpointer loads into its Baseline (bagtricks config) with nothing missing; load_weights maps it here.`
    : "The state_dict keys follow reid-strong-baseline's Baseline (base.*, bottleneck.*, classifier.*).";
  const preText = pre
    ? `Preprocessing: PIL ${pre.interpolation} resize to ${pre.size[0]}x${pre.size[1]} (height x width), RGB / 255, mean ${pre.mean.join(', ')},
std ${pre.std.join(', ')} (INPUT_SIZE, PIXEL_MEAN, PIXEL_STD, INTERPOLATION below; preprocess(pil_image) applies them).`
    : "Inputs are normalised like the app's input.";
  const doc = `"""Exported from ReID Studio${title}: the model as plain PyTorch (torch >= 1.10, no other dependency).

Usage:
    import torch
    from model import ReidModel, load_weights${pre ? ', preprocess' : ''}
    model = load_weights(ReidModel(), ${pyStr(weights)})
    model.eval()
    features = model(images)  # images: [N, ${c}, ${h}, ${w}] float${pre ? ', e.g. preprocess(PIL.Image.open(path))' : ''}

${layoutText}
${preText}
model.train(): forward returns (logits, train feature) like RSB's Baseline; model.eval(): the eval feature.
Inputs are NCHW (the app runs NHWC; the weights are already converted).
"""
`;
  return [
    doc,
    PRELUDE + (opts.unused?.length ? UNUSED_PY : '') + LOADER_PY + (pre ? preprocessingPy(pre) : ''),
    '',
    'class ReidModel(nn.Module):',
    `    INPUT_SHAPE = (${c}, ${h}, ${w})  # C, H, W the model was designed for`,
    `    STATS_FROZEN = (${statsFrozen.map(pyStr).join(', ')}${statsFrozen.length === 1 ? ',' : ''})  # BatchNorms that keep their running statistics in training`,
    '',
    '    def __init__(self):',
    '        super().__init__()',
    ...init,
    '',
    '    def train(self, mode=True):',
    '        super().train(mode)',
    '        for name in self.STATS_FROZEN:',
    '            self.get_submodule(name).eval()',
    '        return self',
    '',
    '    def forward(self, x):',
    ...fwd,
    '',
    '',
    'def build_model():',
    '    return ReidModel()',
    '',
  ].join('\n');
}
