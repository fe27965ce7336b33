"""torchreid's activation map (tools/visualize_actmap.py, `visactmap`) on a ReID Studio `pytorch` export.

Usage: actmap_ref.py SPEC.json. SPEC: {export (folder with model.py + model.pth), input (NHWC float32 file),
shape [N, H, W, C], pool (the module whose input is the last feature map), out (folder)}.
The feature map is captured with a forward pre-hook on the global pooling module (what torchreid's models
return with return_featuremaps=True), then torchreid's lines:
    outputs = (outputs**2).sum(1); outputs = F.normalize(outputs.view(b, h * w), p=2, dim=1).view(b, h, w)
and the resize to the image, cv2.resize(am, (width, height)) (INTER_LINEAR), here as F.interpolate
bilinear with align_corners=False (the same half-pixel sampling for upscaling; cv2 is not installed here).
Writes OUT/actmap.f32 [N, h, w] and OUT/resized.f32 [N, H, W]; prints {"h": h, "w": w}.
With SPEC.images (PNG files of exactly H×W, read with PIL) the input is those images normalised with
SPEC.mean / SPEC.std (torchvision ToTensor + Normalize) instead, and OUT/overlay.u8 [N, H, W, 3] is
torchreid's overlapped panel in RGB: am = uint8(floor(255 (am - min) / (max - min + 1e-12))), coloured with
jet (GNU Octave's jet, which OpenCV's COLORMAP_JET samples; OpenCV's is BGR, torchreid blends it with
the RGB image as is — here both are RGB), overlapped = img * 0.3 + am * 0.7, clipped at 255, uint8.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch
from torch.nn import functional as F


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(1)
    mspec = importlib.util.spec_from_file_location('reid_studio_export', os.path.join(spec['export'], 'model.py'))
    mod = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(mod)
    model = mod.ReidModel()
    model.load_state_dict(torch.load(os.path.join(spec['export'], 'model.pth'), map_location='cpu'), strict=True)
    model.eval()
    n, h, w, c = spec['shape']
    if spec.get('images'):
        from PIL import Image
        imgs = np.stack([np.asarray(Image.open(p).convert('RGB')) for p in spec['images']])
        x = (torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255 - torch.tensor(spec['mean']).view(1, 3, 1, 1)) / torch.tensor(spec['std']).view(1, 3, 1, 1)
    else:
        x = torch.from_numpy(np.fromfile(spec['input'], dtype='<f4').reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()
    captured = []
    model.get_submodule(spec['pool']).register_forward_pre_hook(lambda m, inp: captured.append(inp[0]))
    with torch.no_grad():
        model(x)
        outputs = captured[0]
        outputs = (outputs ** 2).sum(1)
        b, fh, fw = outputs.size()
        outputs = outputs.view(b, fh * fw)
        outputs = F.normalize(outputs, p=2, dim=1)
        outputs = outputs.view(b, fh, fw)
        resized = F.interpolate(outputs.unsqueeze(1), size=(h, w), mode='bilinear', align_corners=False).squeeze(1)
    os.makedirs(spec['out'], exist_ok=True)
    np.ascontiguousarray(outputs.numpy(), dtype='<f4').tofile(os.path.join(spec['out'], 'actmap.f32'))
    np.ascontiguousarray(resized.numpy(), dtype='<f4').tofile(os.path.join(spec['out'], 'resized.f32'))
    if spec.get('images'):
        overlays = []
        for j in range(n):
            am = resized[j].numpy()
            am = 255 * (am - np.min(am)) / (np.max(am) - np.min(am) + 1e-12)
            am = np.uint8(np.floor(am))
            t = am.astype(np.float64) / 255
            jet = np.stack([np.clip(1.5 - np.abs(4 * t - k), 0, 1) for k in (3, 2, 1)], axis=-1)
            colour = np.round(jet * 255)
            overlapped = imgs[j] * 0.3 + colour * 0.7
            overlapped[overlapped > 255] = 255
            overlays.append(overlapped.astype(np.uint8))
        np.stack(overlays).tofile(os.path.join(spec['out'], 'overlay.u8'))
    print(json.dumps({'h': fh, 'w': fw}))


if __name__ == '__main__':
    main()
