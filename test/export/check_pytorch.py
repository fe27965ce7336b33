"""Loads a ReID Studio `pytorch` export (model.py + model.pth) with plain PyTorch and runs it.

Usage: check_pytorch.py SPEC.json. SPEC: {export, input (NHWC float32 file), shape [N, H, W, C], out,
train (bool), reference (optional: a parity case for test/parity/reference.py's Baseline)}.
Writes OUT/eval.f32 (eval-mode output), with `train` OUT/train.logits.f32, OUT/train.feature.f32 and
OUT/after.pth (the state_dict after the training-mode forward: updated BN running statistics), with
`reference` OUT/reference.f32 (the independent RSB-style Baseline loaded from the exported .pth).
Prints a JSON report. Any load problem raises (the test fails with PyTorch's message).
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_f32(path, t):
    np.ascontiguousarray(t.detach().cpu().numpy(), dtype='<f4').tofile(path)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(1)
    out = spec['out']
    os.makedirs(out, exist_ok=True)
    exported = load_module(os.path.join(spec['export'], 'model.py'), 'reid_studio_export')
    model = exported.ReidModel()
    state = torch.load(os.path.join(spec['export'], 'model.pth'), map_location='cpu')
    model.load_state_dict(state, strict=True)
    n, h, w, c = spec['shape']
    x = torch.from_numpy(np.fromfile(spec['input'], dtype='<f4').reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()
    report = {
        'torch': torch.__version__,
        'fileKeys': list(state.keys()),
        'modelKeys': [k for k in model.state_dict().keys() if not k.endswith('num_batches_tracked')],
        'noGrad': [k for k, p in model.named_parameters() if not p.requires_grad],
        'params': sum(p.numel() for p in model.parameters()),
        'dtypes': sorted({str(t.dtype) for t in state.values()}),
    }
    model.eval()
    with torch.no_grad():
        feat = model(x)
    write_f32(os.path.join(out, 'eval.f32'), feat)
    report['evalShape'] = list(feat.shape)

    if spec.get('train'):
        model.train()
        report['evalModeInTraining'] = sorted(k for k, m in model.named_modules() if k and not m.training and not list(m.children()))
        with torch.no_grad():
            logits, tfeat = model(x)
        write_f32(os.path.join(out, 'train.logits.f32'), logits)
        write_f32(os.path.join(out, 'train.feature.f32'), tfeat)
        torch.save(model.state_dict(), os.path.join(out, 'after.pth'))
        report['trainShapes'] = [list(logits.shape), list(tfeat.shape)]

    ref = spec.get('reference')
    if ref:
        sys.path.insert(0, ref['dir'])
        import reference  # test/parity/reference.py: RSB's Baseline written from the spec
        baseline = reference.Baseline(ref['preset'], ref['numClasses'], ref['lastStride'], ref['neck'], ref['neckFeat'])
        res = baseline.load_state_dict(state, strict=False)
        report['referenceMissing'] = list(res.missing_keys)
        report['referenceUnexpected'] = list(res.unexpected_keys)
        baseline.eval()
        with torch.no_grad():
            write_f32(os.path.join(out, 'reference.f32'), baseline(x))
    print(json.dumps(report))


if __name__ == '__main__':
    main()
