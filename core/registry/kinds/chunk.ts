import type { PrimitiveKind } from '../types.js';
import { ShapeError } from '../types.js';
import { requireSpatial } from '../shapes.js';
import { pyInt } from '../lowering.js';

/**
 * Rows [start, end) of `torch.chunk(x, parts, dim=2)[index]` on an [H, W, C] map: chunks of ceil(H / parts)
 * rows, the last one shorter (PyTorch's chunk). Throws when that chunk does not exist (torch.chunk returns
 * fewer than `parts` chunks when H is small, e.g. 4 rows in 3 parts → 2 chunks).
 */
export function chunkRows(h: number, parts: number, index: number): [number, number] {
  const size = Math.ceil(h / parts);
  const start = index * size;
  if (index >= parts || start >= h)
    throw new ShapeError('E_SPATIAL_ZERO', `torch.chunk of ${h} ${h === 1 ? 'row' : 'rows'} into ${parts} parts has no part ${index} (chunks of ${size} ${size === 1 ? 'row' : 'rows'}); use a taller input`);
  return [start, Math.min(h, start + size)];
}

/**
 * One horizontal stripe of a feature map: `torch.chunk(x, parts, dim=2)[index]`, as fast-reid's MGN cuts its
 * part branches (fastreid/modeling/meta_arch/mgn.py: `torch.chunk(b2_feat, 2, dim=2)`, `…(b3_feat, 3, dim=2)`).
 */
export const chunk: PrimitiveKind = {
  id: 'chunk',
  label: 'Horizontal stripe',
  category: 'layers',
  description: 'torch.chunk along the height: part `index` of `parts` horizontal stripes (MGN part branches).',
  primitive: true,
  freezable: false,
  params: {
    parts: { type: 'int', default: 2, min: 1, max: 64, label: 'Parts' },
    index: { type: 'int', default: 0, min: 0, max: 63, label: 'Part', help: '0 = the top stripe' },
  },
  inputs: [{ name: 'in' }],
  outputs: [{ name: 'out' }],
  describe: (p) => `part ${(p.index as number) + 1} of ${p.parts}`,
  inferShape(p, [x]) {
    const [h, w, c] = requireSpatial('chunk', x!);
    const [a, b] = chunkRows(h, p.parts as number, p.index as number);
    return [b - a, w, c];
  },
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras({ make, layer: l }) {
      const h = l.inputShapes[0]![0]!;
      const [a, b] = chunkRows(h, l.params.parts as number, l.params.index as number);
      return [make('Cropping2D', { cropping: [[a, h - b], [0, 0]], data_format: 'channels_last' })];
    },
    /** Split along H (NCHW axis 2) into [above, the stripe, below], empty parts left out. */
    onnx({ layer: l, node, int64, x }) {
      const h = l.inputShapes[0]![0]!;
      const [a, b] = chunkRows(h, l.params.parts as number, l.params.index as number);
      const parts: [number, string][] = [];
      if (a > 0) parts.push([a, `${l.name}__above`]);
      parts.push([b - a, l.name]);
      if (b < h) parts.push([h - b, `${l.name}__below`]);
      if (parts.length === 1) {
        node('Identity', l.name, [x], [l.name]);
        return;
      }
      const sizes = int64(`${l.name}.split`, parts.map(([s]) => s));
      node('Split', `${l.name}.split`, [x, sizes], parts.map(([, t]) => t), [{ name: 'axis', type: 'int', value: 2 }]);
    },
    torch: {
      module: (l) => `Chunk(${pyInt(l.params.parts)}, ${pyInt(l.params.index)})`,
      classes: `class Chunk(nn.Module):
    """torch.chunk(x, parts, dim=2)[index]: one horizontal stripe (fast-reid MGN's part branches)."""

    def __init__(self, parts, index):
        super().__init__()
        self.parts = parts
        self.index = index

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=2)[self.index]
`,
    },
  },
};
