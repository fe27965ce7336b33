"""PyTorch reference implementations of the ReID Studio presets, and the fixture generator of the parity suite.

Written from reid-strong-baseline's sources (reid-strong-baseline `modeling/baseline.py`,
`modeling/backbones/resnet.py`, `modeling/backbones/resnet_ibn_a.py`; IBN-Net `ibnnet/modules.py`):
 - plain ResNet (RSB): conv 7×7/2 p3 → BN → *no ReLU* → max pool 3×3/2 p1 (RSB issues #4, #117);
 - resnet*_ibn_a: stem with ReLU; IBN-a (IN on the first half of the channels, affine, no running
   stats; BN on the rest; IN first) in bn1 of every block of layer1–3, never layer4; `fc` is still
   constructed, so `base.fc.*` is in the state_dict (RSB's copy does this);
 - Bottleneck with the stride on conv2 (v1.5); downsample = 1×1 conv + BN when stride ≠ 1 or widths differ;
 - Baseline: GAP → neck ('bnneck': BatchNorm1d whose bias has requires_grad False; classifier without
   bias, normal(0, 0.001); 'no': classifier nn.Linear with bias) → train: (cls_score, global_feat),
   eval: feat after or before the BNNeck (TEST.NECK_FEAT).

SENet presets (RSB's SE-ResNet / SE-ResNeXt / SENet-154): senet_reference.py's SENet under the same Baseline;
a case's `senet` {layers: blocks per stage, planes: each stage's planes} builds a reduced-depth / reduced-width
variant of the same definition.

Usage: reference.py SPEC.json OUT_DIR. SPEC lists cases; for each case this writes
 OUT_DIR/<id>.pth (torch.save zip state_dict), <id>.input.f32 (NHWC float32), <id>.expected.f32 (eval
 features), and for training cases <id>.train.json (loss, logits/feature stats) and <id>.after.pth
 (the state_dict after one SGD step). Images cases also write PNGs and features computed from them.
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class IBN(nn.Module):
    def __init__(self, planes, ratio=0.5):
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        a, b = torch.split(x, [self.half, x.shape[1] - self.half], 1)
        return torch.cat((self.IN(a.contiguous()), self.BN(b.contiguous())), 1)


def norm(planes, ibn):
    return IBN(planes) if ibn else nn.BatchNorm2d(planes)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, ibn=False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm(planes, ibn)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + res)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, ibn=False):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm(planes, ibn)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        res = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + res)


DEPTHS = {
    'resnet18': (BasicBlock, [2, 2, 2, 2]),
    'resnet34': (BasicBlock, [3, 4, 6, 3]),
    'resnet50': (Bottleneck, [3, 4, 6, 3]),
    'resnet101': (Bottleneck, [3, 4, 23, 3]),
}


class ResNet(nn.Module):
    def __init__(self, depth, last_stride, ibn):
        super().__init__()
        block, layers = DEPTHS[depth]
        self.ibn = ibn
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1, ibn)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, ibn)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, ibn)
        self.layer4 = self._make_layer(block, 512, layers[3], last_stride, False)
        if ibn:
            # RSB resnet_ibn_a.py constructs (but never uses) the ImageNet head.
            self.avgpool = nn.AvgPool2d(7)
            self.fc = nn.Linear(512 * block.expansion, 1000)

    def _make_layer(self, block, planes, blocks, stride, ibn):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, ibn)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, 1, None, ibn) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        if self.ibn:  # RSB's plain ResNet has this ReLU commented out; its IBN copy keeps it
            x = self.relu(x)
        x = self.maxpool(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# The app's RSB SENet preset names (core/presets/senet.ts) -> RSB baseline.py's model_name.
SENET_PRESETS = {'se_resnet50': 'se_resnet50', 'se_resnet101': 'se_resnet101', 'se_resnet152': 'se_resnet152',
                 'se_resnext50_32x4d': 'se_resnext50', 'se_resnext101_32x4d': 'se_resnext101', 'senet154': 'senet154'}


class Baseline(nn.Module):
    def __init__(self, preset, num_classes, last_stride, neck, neck_feat, senet=None):
        super().__init__()
        ibn = preset.endswith('_ibn_a')
        depth = preset[: -len('_ibn_a')] if ibn else preset
        if preset == 'resnest50':
            # fast-reid's ResNeSt-50 (test/core/oracle/resnest_modules.py, written from resnest.py / splat.py).
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'core', 'oracle'))
            from resnest_modules import ResNeSt
            self.base = ResNeSt([3, 4, 6, 3], 32, last_stride)
            self.in_planes = 2048
        elif preset in SENET_PRESETS:
            # reid-strong-baseline's SENet family (senet_reference.py, written from its modeling/backbones/senet.py).
            from senet_reference import ARCHS, SENet
            arch = dict(ARCHS[SENET_PRESETS[preset]], **{k: v for k, v in (senet or {}).items() if k in ('layers', 'planes')})
            self.base = SENet(reduction=16, dropout_p=None, last_stride=last_stride, **arch)
            self.in_planes = 4 * arch.get('planes', [512])[-1]
        else:
            self.base = ResNet(depth, last_stride, ibn)
            self.in_planes = 512 if DEPTHS[depth][0] is BasicBlock else 2048
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.neck = neck
        self.neck_feat = neck_feat
        if neck == 'no':
            self.classifier = nn.Linear(self.in_planes, num_classes)
        else:
            self.bottleneck = nn.BatchNorm1d(self.in_planes)
            self.bottleneck.bias.requires_grad_(False)  # no shift
            self.classifier = nn.Linear(self.in_planes, num_classes, bias=False)
            nn.init.constant_(self.bottleneck.weight, 1.0)
            nn.init.constant_(self.bottleneck.bias, 0.0)
            nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, x):
        global_feat = self.gap(self.base(x)).flatten(1)
        feat = self.bottleneck(global_feat) if self.neck == 'bnneck' else global_feat
        if self.training:
            return self.classifier(feat), global_feat
        return feat if self.neck_feat == 'after' else global_feat


def randomise(model, gen, calib, fan_in=()):
    """Random weights with sane activation scales and randomised (but plausible) BN running statistics:
    kaiming fan-out convs (fan-in for the convs in `fan_in`), random γ/β, running stats measured on a
    calibration batch then perturbed."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan = m.in_channels if any(m is c for c in fan_in) else m.out_channels
            fan *= m.kernel_size[0] * m.kernel_size[1]
            m.weight.data = torch.randn(m.weight.shape, generator=gen) * ((1.0 if any(m is c for c in fan_in) else 2.0) / fan) ** 0.5
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.InstanceNorm2d)):
            m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=gen)
            if not (m is getattr(model, 'bottleneck', None)):
                m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
        elif isinstance(m, nn.Linear):
            m.weight.data = 0.05 * torch.randn(m.weight.shape, generator=gen)
            if m.bias is not None:
                m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d))]
    for m in bns:
        m.momentum = None  # cumulative average: one batch sets the running stats to its own statistics
        m.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(calib)
    for m in bns:
        m.momentum = 0.1
        std = m.running_var.sqrt()
        m.running_mean += 0.2 * std * torch.randn(m.running_mean.shape, generator=gen)
        m.running_var *= 0.6 + 0.8 * torch.rand(m.running_var.shape, generator=gen)
        m.num_batches_tracked.fill_(7)


def write_f32(path, t):
    np.ascontiguousarray(t.detach().cpu().numpy(), dtype='<f4').tofile(path)


def nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()


def images_to_tensor(paths, h, w):
    from PIL import Image
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    arrs = []
    for p in paths:
        img = Image.open(p).convert('RGB')
        if img.size != (w, h):
            img = img.resize((w, h), Image.BILINEAR)  # torchvision T.Resize on PIL images
        arrs.append(torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1) / 255.0)
    return (torch.stack(arrs) - mean) / std


def freeze_backbone(model):
    """ReID Studio's freeze (frozen weights + frozen BN statistics) in PyTorch terms."""
    model.base.requires_grad_(False)
    model.base.eval()


def sgd_step(m, xx, labels, c):
    """One plain SGD step of the fixtures' loss CE(logits) + w·mean(global_feat²) on `m` (in place)."""
    t = c['train']
    m.train()
    if c.get('freezeBackbone'):
        freeze_backbone(m)
    logits, gfeat = m(xx)
    loss = F.cross_entropy(logits, labels) + t['featureWeight'] * gfeat.pow(2).mean()
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=t['lr'])
    opt.zero_grad()
    loss.backward()
    opt.step()
    return logits, gfeat, loss


def patch_relus(m, capture=None, masks=None, grad_masks=None):
    """Replaces every nn.ReLU's forward of `m`. A ReLU module applied k times per forward (BasicBlock's
    `self.relu`) is named `<module>k` per call (`base.layer4.1.relu2`: the block's output ReLU), as the
    ONNX graph names it. `capture` gets each call's input; `masks[name]` replaces that call by x·mask
    (forward and gradient); `grad_masks[name]` keeps relu(x) forward but passes the gradient through
    that mask (a deliberately wrong ReLU gradient)."""
    calls = {}

    def make(name):
        def forward(x):
            calls[name] = calls.get(name, 0) + 1
            key = f'{name}{calls[name]}'
            if capture is not None:
                capture[key] = x.detach().clone()
            if masks and key in masks:
                return x * masks[key]
            if grad_masks and key in grad_masks:
                g = grad_masks[key]
                return x * g + (x * ((x > 0).to(x.dtype) - g)).detach()
            return F.relu(x)
        return forward

    for name, mod in m.named_modules():
        if isinstance(mod, nn.ReLU):
            mod.forward = make(name)
    return calls


# A ReLU input whose float64 value is within RELU_TIE × PyTorch float32's own largest error on that ReLU's
# input is a tie: a float32 engine a few times less precise than PyTorch's CPU kernels may put it on either
# side of 0 (the WebGPU EP on SwiftShader: its forward activations are ≤ 3× PyTorch float32's distance to
# float64, layer by layer, measured on t_r18_bnneck), and the ReLU's gradient is a step there. At most
# RELU_TIES_MAX of them, the narrowest first.
RELU_TIE = 4.0
RELU_TIES_MAX = 8


def relu_ties(start, x, labels, c, out):
    """For each ReLU tie of the training step (see RELU_TIE), the float64 step that takes the other branch
    there (<id>.tie<k>.after64.pth, x·mask with that element's mask flipped, forward and gradient), and one
    deliberately wrong float32 step (<id>.wrong.after.pth): the gradient of the last ReLU (the one the global
    average pool reads) flipped, forward unchanged, at a non-tie element of the (sample, channel) map of its
    narrowest tie (so the same upstream gradient as the tie's), the error a mis-routed ReLU gradient would
    make. Returns the fixture's JSON entries."""
    pre = {}
    for suffix, m, xx in (('32', copy.deepcopy(start), x), ('64', copy.deepcopy(start).double(), x.double())):
        cap = {}
        patch_relus(m, capture=cap)
        m.train()
        if c.get('freezeBackbone'):
            freeze_backbone(m)
        with torch.no_grad():
            m(xx)
        pre[suffix] = cap
    ties = []
    for name, p64 in pre['64'].items():
        err = float((pre['32'][name].double() - p64).abs().max())
        for idx in torch.nonzero(p64.abs() <= RELU_TIE * err).tolist():
            v = float(p64[tuple(idx)])
            ties.append({'relu': name, 'index': idx, 'pre64': v, 'pre32': float(pre['32'][name][tuple(idx)]), 'float32Error': err, 'margin': abs(v) / err})
    ties.sort(key=lambda t: t['margin'])
    result = {'reluTie': RELU_TIE, 'reluTiesFound': len(ties), 'ties': ties[:RELU_TIES_MAX]}
    for k, tie in enumerate(result['ties']):
        mask = (pre['64'][tie['relu']] > 0).double()
        mask[tuple(tie['index'])] = 1.0 - mask[tuple(tie['index'])]
        m = copy.deepcopy(start).double()
        patch_relus(m, masks={tie['relu']: mask})
        _, _, loss = sgd_step(m, x.double(), labels, c)
        tie['file'] = f"{c['id']}.tie{k}.after64.pth"
        tie['loss64'] = float(loss)
        torch.save(m.float().state_dict(), os.path.join(out, tie['file']))
    # The wrong step: at the last ReLU (the one the global average pool reads), next to its narrowest tie.
    last = list(pre['64'])[-1]
    p64 = pre['64'][last]
    if p64.dim() == 4:
        near = [t['index'] for t in ties if t['relu'] == last]
        idx = near[0] if near else list(np.unravel_index(int(p64.abs().argmin()), tuple(p64.shape)))
        tied = {tuple(t['index']) for t in ties if t['relu'] == last}
        cand = next(([idx[0], idx[1], h, w] for h in range(p64.shape[2]) for w in range(p64.shape[3]) if (idx[0], idx[1], h, w) not in tied and [h, w] != idx[2:]), None)
    else:
        cand = None
    if cand is not None:
        g = (pre['32'][last] > 0).float()
        g[tuple(cand)] = 1.0 - g[tuple(cand)]
        m = copy.deepcopy(start)
        patch_relus(m, grad_masks={last: g})
        sgd_step(m, x, labels, c)
        torch.save(m.state_dict(), os.path.join(out, c['id'] + '.wrong.after.pth'))
        result['wrong'] = {'relu': last, 'index': [int(i) for i in cand], 'pre64': float(p64[tuple(cand)]), 'file': c['id'] + '.wrong.after.pth'}
    return result


def run_case(c, out):
    torch.manual_seed(c['seed'])
    gen = torch.Generator().manual_seed(c['seed'])
    h, w = c['input']
    model = Baseline(c['preset'], c['numClasses'], c['lastStride'], c['neck'], c['neckFeat'], c.get('senet'))
    randomise(model, gen, torch.randn(8, 3, h, w, generator=gen))
    torch.save(model.state_dict(), os.path.join(out, c['id'] + '.pth'))
    x = torch.randn(c['batch'], 3, h, w, generator=gen)
    write_f32(os.path.join(out, c['id'] + '.input.f32'), nhwc(x))
    model.eval()
    with torch.no_grad():
        feat = model(x)
    write_f32(os.path.join(out, c['id'] + '.expected.f32'), feat)
    result = {'featureShape': list(feat.shape)}

    if c.get('images'):
        from PIL import Image
        idir = os.path.join(out, c['id'] + '.images')
        os.makedirs(idir, exist_ok=True)
        ih, iw = c['images']['size']
        names = c['images']['names']
        rng = np.random.default_rng(c['seed'])
        for n in names:
            # Smooth random images (what a photo looks like to a resize filter), saved losslessly.
            small = rng.integers(0, 256, size=(ih // 4 + 1, iw // 4 + 1, 3)).astype(np.uint8)
            img = Image.fromarray(small).resize((iw, ih), Image.BICUBIC)
            img.save(os.path.join(idir, n))
        paths = [os.path.join(idir, n) for n in sorted(names)]
        with torch.no_grad():
            f = model(images_to_tensor(paths, h, w))
        write_f32(os.path.join(out, c['id'] + '.images.expected.f32'), f)

    if c.get('train'):
        # The step in float32 (what PyTorch users get) and in float64 (the accuracy yardstick: the test
        # requires tfjs to be about as close to float64 as PyTorch's own float32 result is).
        import copy
        t = c['train']
        labels = torch.tensor(t['labels'])
        start = copy.deepcopy(model)
        model64 = copy.deepcopy(model).double()
        for suffix, m, xx in (('', model, x), ('64', model64, x.double())):
            logits, gfeat, loss = sgd_step(m, xx, labels, c)
            write_f32(os.path.join(out, c['id'] + '.train.logits' + suffix + '.f32'), logits)
            write_f32(os.path.join(out, c['id'] + '.train.feature' + suffix + '.f32'), gfeat)
            torch.save(m.float().state_dict(), os.path.join(out, c['id'] + '.after' + suffix + '.pth'))
            result['loss' + suffix] = float(loss)
        result['trainable'] = sorted(n for n, p in model.named_parameters() if p.requires_grad)
        if t.get('reluTies'):
            result.update(relu_ties(start, x, labels, c, out))
    with open(os.path.join(out, c['id'] + '.json'), 'w') as f:
        json.dump(result, f)


def main(run=None):
    """Runs `run(case, out)` (default run_case) for every case of SPEC.json."""
    spec_path, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    with open(spec_path) as f:
        cases = json.load(f)
    for c in cases:
        (run or run_case)(c, out)
    print(json.dumps({'torch': torch.__version__, 'cases': len(cases)}))


if __name__ == '__main__':
    main()
