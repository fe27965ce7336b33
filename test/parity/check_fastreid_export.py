"""Checks a ReID Studio `pytorch --layout fastreid` export against fast-reid's own state-dict layout.

Usage: check_fastreid_export.py SPEC.json, SPEC: {export, keys (the <id>.keys.json make_fastreid_fixtures.py
wrote from fast-reid's build_model), inputFile (NHWC f32), batch, input [h, w], out}.
 - strict: the export's model.pth is {'model': state_dict} (fastreid/utils/checkpoint.py Checkpointer) whose
   keys and shapes are exactly fast-reid's model's, so load_state_dict(strict=True) into fast-reid's model
   accepts it; a missing / unexpected / mis-shaped key exits 1 naming it. BatchNorm `num_batches_tracked`
   counters may be absent: a state dict without version metadata gets them filled in by
   torch.nn.modules.batchnorm._NormBase._load_from_state_dict, so a strict load still succeeds;
 - the export's model.py loads the same file (load_weights) and its eval features go to out/modelpy.f32.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def main():
    c = json.load(open(sys.argv[1]))
    state = torch.load(os.path.join(c['export'], 'model.pth'), map_location='cpu')
    sd = state.pop('model')
    want = {k: tuple(s) for k, s in json.load(open(c['keys']))}
    got = {k: tuple(v.shape) for k, v in sd.items()}
    versioned = getattr(sd, '_metadata', None) is not None
    missing = sorted(k for k in set(want) - set(got) if versioned or not k.endswith('.num_batches_tracked'))
    unexpected = sorted(set(got) - set(want))
    shapes = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    if missing or unexpected or shapes or state:
        print(f'not strict: missing {missing[:5]}, unexpected {unexpected[:5]}, shapes {shapes[:5]}, extra top-level {list(state)}', file=sys.stderr)
        sys.exit(1)
    h, w = c['input']
    x = torch.from_numpy(np.fromfile(c['inputFile'], dtype='<f4').reshape(c['batch'], h, w, 3)).permute(0, 3, 1, 2).contiguous()
    spec = importlib.util.spec_from_file_location('reid_studio_export', os.path.join(c['export'], 'model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ours = mod.load_weights(mod.ReidModel(), os.path.join(c['export'], 'model.pth')).eval()
    with torch.no_grad():
        ours(x).numpy().astype('<f4').tofile(os.path.join(c['out'], 'modelpy.f32'))


if __name__ == '__main__':
    torch.set_num_threads(1)
    main()
