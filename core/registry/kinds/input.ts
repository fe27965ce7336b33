import type { PrimitiveKind } from '../types.js';

export const input: PrimitiveKind = {
  id: 'input',
  label: 'Image input',
  category: 'io',
  description: 'Normalised RGB image batch (ImageNet mean/std), height × width × channels.',
  primitive: true,
  imageInput: true,
  freezable: false,
  params: {
    height: { type: 'int', default: 256, min: 8, max: 2048, label: 'Height' },
    width: { type: 'int', default: 128, min: 8, max: 2048, label: 'Width' },
    channels: { type: 'int', default: 3, min: 1, max: 16, label: 'Channels' },
  },
  inputs: [],
  outputs: [{ name: 'out' }],
  describe: (p) => `${p.height}×${p.width}×${p.channels}`,
  inferShape: (p) => [p.height as number, p.width as number, p.channels as number],
  paramCount: () => ({ total: 0, alwaysFrozen: 0 }),
  lower: {
    keras: ({ layer, name }) => [{ name, class_name: 'InputLayer', config: { batch_input_shape: [null, ...layer.shape], dtype: 'float32', sparse: false, name }, inbound_nodes: [] }],
    onnx: () => {},
    torch: { module: () => null, expr: () => 'x' },
  },
};
