"""PyTorch + Pillow referee of test/parity/frameworks-256.test.ts: the frameworks' own models, fed by the
frameworks' own test-time preprocessing, at 256x128.

Models (the module trees and state-dict keys are the frameworks'):
 - rsb: reid-strong-baseline `modeling/baseline.py` Baseline (reference.py), e.g. resnet50_ibn_a or
   resnet34 with BNNeck, TEST.NECK_FEAT 'after', LAST_STRIDE 1; saved as torch.save(state_dict).
   Test transform (RSB `data/transforms/build.py`): T.Resize(SIZE_TEST) (PIL bilinear), T.ToTensor(),
   T.Normalize(ImageNet mean / std).
 - fr: fast-reid bagtricks Baseline (fastreid_reference.py: build_resnet_backbone R50 [IBN-a],
   EmbeddingHead with GlobalAvgPool and BNNeck; eval returns the BNNeck output whatever NECK_FEAT says);
   pixel_mean / pixel_std non-persistent buffers (fast-reid's defaults, which the bagtricks configs keep);
   saved as {'model': state_dict} (fastreid/utils/checkpoint.py). Test transform (fastreid
   `data/transforms/build.py`): T.Resize(SIZE_TEST, interpolation=3) (PIL bicubic), fast-reid's ToTensor
   (0-255 floats, no division), then Baseline.preprocess_image: (x - pixel_mean) / pixel_std.

usage:
  frameworks_256.py make SPEC.json OUT  SPEC = {"models": [{id, framework rsb|fr, preset (rsb) | ibn (fr),
      numClasses, seed}], "images": {"256x128": n, "128x64": n}}. Writes OUT/imgs/*.png (blurred noise,
      lossless), OUT/<id>.pth (random weights with randomised BN statistics), prints
      {"files": [...], "features": {id: [[...], ...]}} (eval features of the images, sorted by name).
  frameworks_256.py check SPEC.json OUT  the same SPEC plus per model "export": a `reid-studio export
      --format pytorch` folder. Loads export/model.pth as the framework loads a checkpoint and prints
      {id: {"features": [[...]], "fileKeys": n, "missing": [...], "unexpected": [...], "checkpointKeys",
      "inputSize", "interpolation", "pixelMean", "pixelStd"}} (the last four from the exported model.py).
      rsb: Baseline.load_param (every key of the file copied into the model's state_dict: an unknown key
      raises KeyError, a wrong shape raises), with the model keys the file left untouched reported (BN
      step counters aside);
      fr: Checkpointer._load_model (torch.load, pop 'model', strip 'module.') + load_state_dict(strict=True).
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastreid_reference  # noqa: E402
from reference import Baseline, randomise  # noqa: E402

H, W = 256, 128
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def build(m):
    if m['framework'] == 'rsb':
        return Baseline(m['preset'], m['numClasses'], 1, 'bnneck', 'after')
    return fastreid_reference.Baseline({'lastStride': 1, 'ibn': m['ibn'], 'numClasses': m['numClasses'],
                                        'pool': 'GlobalAvgPool', 'pixelBuffers': False})


def model_input(m, model, images):
    """The framework's test transform of PIL images: the batch its model's forward receives."""
    if m['framework'] == 'rsb':
        tf = T.Compose([T.Resize([H, W]), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
        return torch.stack([tf(img) for img in images])
    resize = T.Resize([H, W], interpolation=T.InterpolationMode.BICUBIC)
    raw = [torch.from_numpy(np.asarray(resize(img), dtype=np.float32)).permute(2, 0, 1) for img in images]
    return (torch.stack(raw) - model.pixel_mean) / model.pixel_std


def features(m, model, paths):
    """Eval features of the image files with the framework's test transform and forward."""
    x = model_input(m, model, [Image.open(p).convert('RGB') for p in paths])
    model.eval()
    with torch.no_grad():
        return model(x)


def noise_image(rng, h, w):
    """Coarse colour noise enlarged and blurred: edges and smooth areas, as a photo has."""
    a = rng.integers(0, 256, (h // 4, w // 4, 3)).astype(np.uint8)
    return Image.fromarray(a).resize((w, h), Image.NEAREST).filter(ImageFilter.GaussianBlur(1.2))


def write_images(spec, out):
    idir = os.path.join(out, 'imgs')
    os.makedirs(idir, exist_ok=True)
    rng = np.random.default_rng(256)
    for size, n in spec['images'].items():
        h, w = (int(v) for v in size.split('x'))
        for i in range(n):
            noise_image(rng, h, w).save(os.path.join(idir, f'{size}_{i}.png'))
    files = sorted(os.listdir(idir))
    return files, [os.path.join(idir, f) for f in files]


def make(spec, out):
    files, paths = write_images(spec, out)
    feats = {}
    for m in spec['models']:
        torch.manual_seed(m['seed'])
        gen = torch.Generator().manual_seed(m['seed'])
        model = build(m)
        # BN statistics measured on other images of the same kind (then perturbed), so features stay
        # plausible; at half size, which keeps this affordable.
        rng = np.random.default_rng(m['seed'])
        calib = model_input(m, model, [noise_image(rng, H, W) for _ in range(4)])
        randomise(model, gen, torch.nn.functional.interpolate(calib, scale_factor=0.5, mode='bilinear', align_corners=False))
        sd = model.state_dict()
        torch.save(sd if m['framework'] == 'rsb' else {'model': sd, 'iteration': 0}, os.path.join(out, m['id'] + '.pth'))
        feats[m['id']] = features(m, model, paths).tolist()
    return {'files': files, 'features': feats}


def load_module(path):
    import importlib.util
    s = importlib.util.spec_from_file_location('reid_studio_export_' + str(abs(hash(path))), path)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


def check(spec, out):
    files = sorted(os.listdir(os.path.join(out, 'imgs')))
    paths = [os.path.join(out, 'imgs', f) for f in files]
    res = {}
    for m in spec['models']:
        model = build(m)
        ckpt = torch.load(os.path.join(m['export'], 'model.pth'), map_location='cpu')
        r = {'checkpointKeys': sorted(ckpt.keys()) if m['framework'] == 'fr' else None}
        if m['framework'] == 'rsb':
            # reid-strong-baseline modeling/baseline.py Baseline.load_param
            own = model.state_dict()
            for k in ckpt:
                own[k].copy_(ckpt[k])
            # BN step counters aside (eval never reads them), which of the model's keys the file left as built.
            missing = sorted(k for k in own if k not in ckpt and not k.endswith('num_batches_tracked'))
            r.update(fileKeys=len(ckpt), missing=missing, unexpected=[])
        else:
            # fast-reid fastreid/utils/checkpoint.py Checkpointer._load_model, then strict loading
            state = ckpt.pop('model')
            if all(k.startswith('module.') for k in state):
                state = {k[len('module.'):]: v for k, v in state.items()}
            loaded = model.load_state_dict(state, strict=True)
            r.update(fileKeys=len(state), missing=list(loaded.missing_keys), unexpected=list(loaded.unexpected_keys))
        exported = load_module(os.path.join(m['export'], 'model.py'))
        r.update(inputSize=list(exported.INPUT_SIZE), interpolation=exported.INTERPOLATION,
                 pixelMean=list(exported.PIXEL_MEAN), pixelStd=list(exported.PIXEL_STD))
        r['features'] = features(m, model, paths).tolist()
        res[m['id']] = r
    return res


def main():
    mode, spec_path, out = sys.argv[1:4]
    torch.set_num_threads(1)
    with open(spec_path) as f:
        spec = json.load(f)
    print(json.dumps(make(spec, out) if mode == 'make' else check(spec, out)))


if __name__ == '__main__':
    main()
