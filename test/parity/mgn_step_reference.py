"""One plain SGD step of a reduced-width fast-reid MGN in PyTorch (float32 and float64): the reference of
mgn-train-parity.test.ts.

The modules are written here from fast-reid's published definitions (fast-reid's own ResNet hard-codes 64
stem channels, so its build_model cannot make the test's reduced widths):
  - fastreid/modeling/backbones/resnet.py: Bottleneck (conv1 1x1 -> bn1 -> relu -> conv2 3x3/stride -> bn2 ->
    relu -> conv3 1x1 -> bn3, + downsample [1x1 conv, BN], relu), bn1 an IBN-a (fastreid/layers/batch_norm.py
    IBN: InstanceNorm2d(affine) on the first half of the channels, BatchNorm2d on the rest) in layer1-3, plain
    BN in layer4; the stem conv 7x7/2, BN, ReLU, MaxPool2d(3, 2, ceil_mode=True);
  - fastreid/modeling/meta_arch/mgn.py: backbone = [stem, layer1, layer2, layer3[0]], branches b1, b2, b3 =
    [layer3[1:], layer4] (all at stride 1 here: the test input's layer3 map is 3x1), torch.chunk of b2's map
    into 2 and b3's into 3 stripes along the height, eight EmbeddingHeads, losses(): CE x 0.125 on each head's
    logits, triplet x 0.2 on b1, b2, b3 and cat(b21, b22), cat(b31, b32, b33) (each x CE.SCALE / TRI.SCALE = 1);
  - fastreid/modeling/heads/embedding_head.py: pool_layer (the spec's `pool`: `avg` AdaptiveAvgPool2d, or
    `gemP` fastreid/layers/pooling.py GeneralizedMeanPoolingP: clamp(min=1e-6).pow(p), average, pow(1/p), p
    a trainable parameter initialised to 3, Base-MGN's POOL_LAYER), bottleneck = [1x1 conv to EMBEDDING_DIM, no bias; BatchNorm2d with its bias frozen
    (bias_freeze)], the class weight `weight` (cls layer `Linear`, scale 1), NECK_FEAT 'after' (the triplet
    feature is the BNNeck output);
  - fastreid/modeling/losses/cross_entroy_loss.py (eps 0: plain CE, mean over the batch) and triplet_loss.py
    (euclidean_dist with clamp(min=1e-12).sqrt(), hard_example_mining, MARGIN 0 -> soft_margin_loss, MGN's
    own Base-MGN setting; NORM_FEAT False).
Initial weights: seeded_state.py on this model's own key list (fast-reid's key names); the batch: seeded
N(0, 1) images. One torch.optim.SGD step (lr, no momentum, no weight decay) in float32 and in float64 from
the same weights on the same batch and labels; BatchNorm in training mode (batch statistics, running
statistics updated with momentum 0.1 and the unbiased variance).

Usage: mgn_step_reference.py SPEC.json OUT_DIR   (SPEC: [{id, seed, numClasses, batch, input: [h, w],
labels, lr, pool, widths: {stem, layer1, layer2, layer3, layer4, embedding}}])
Writes OUT_DIR/<id>.pth / .after.pth / .after64.pth ({'model': state_dict}, fast-reid's layout), <id>.input.f32
(NHWC float32) and <id>.json {loss, loss64, lossFloor, trainable}: lossFloor is the loss error PyTorch
float32's heads would give without cancellation, to first order sum |dL/dz| * |z32 - z64| over every head's
logits and triplet feature z (dL/dz at float64; train-check.ts's loss bound).
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Bottleneck  # noqa: E402  (same folder)
from seeded_state import seeded_state  # noqa: E402

torch.set_num_threads(1)


def bottleneck(inplanes, planes, ibn, stride):
    """fast-reid's Bottleneck (reference.py's, the same module names) with its downsample where shapes change."""
    ds = None
    if stride != 1 or inplanes != planes * 4:
        ds = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(planes * 4))
    return Bottleneck(inplanes, planes, stride, ds, ibn)


class GeMP(nn.Module):
    def __init__(self, norm=3.0, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.p = nn.Parameter(torch.ones(1) * norm)

    def forward(self, x):
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), (1, 1)).pow(1.0 / self.p)


class EmbeddingHead(nn.Module):
    def __init__(self, feat_dim, embedding_dim, num_classes, pool):
        super().__init__()
        self.pool_layer = GeMP() if pool == 'gemP' else nn.AdaptiveAvgPool2d(1)
        bn = nn.BatchNorm2d(embedding_dim)
        bn.bias.requires_grad_(False)
        self.bottleneck = nn.Sequential(nn.Conv2d(feat_dim, embedding_dim, 1, bias=False), bn)
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_dim))

    def forward(self, x):
        neck = self.bottleneck(self.pool_layer(x))[..., 0, 0]
        return F.linear(neck, self.weight), neck


class TinyMGN(nn.Module):
    def __init__(self, w, num_classes, pool):
        super().__init__()
        s, p1, p2, p3, p4, d = w['stem'], w['layer1'], w['layer2'], w['layer3'], w['layer4'], w['embedding']
        self.backbone = nn.Sequential(
            nn.Conv2d(3, s, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(s), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Sequential(bottleneck(s, p1, True, 1)),
            nn.Sequential(bottleneck(p1 * 4, p2, True, 2)),
            bottleneck(p2 * 4, p3, True, 2),
        )
        for b in ('b1', 'b2', 'b3'):
            setattr(self, b, nn.Sequential(nn.Sequential(bottleneck(p3 * 4, p3, True, 1)), nn.Sequential(bottleneck(p3 * 4, p4, False, 1))))
        for h in ('b1', 'b2', 'b3', 'b21', 'b22', 'b31', 'b32', 'b33'):
            setattr(self, h + '_head', EmbeddingHead(p4 * 4, d, num_classes, pool))

    def forward(self, x):
        f = self.backbone(x)
        b1, b2, b3 = self.b1(f), self.b2(f), self.b3(f)
        b21, b22 = torch.chunk(b2, 2, dim=2)
        b31, b32, b33 = torch.chunk(b3, 3, dim=2)
        out = {}
        for name, t in (('b1', b1), ('b2', b2), ('b3', b3), ('b21', b21), ('b22', b22), ('b31', b31), ('b32', b32), ('b33', b33)):
            out[name] = getattr(self, name + '_head')(t)
        return out


def triplet_soft_hard(emb, targets):
    n = emb.size(0)
    xx = emb.pow(2).sum(1, keepdim=True).expand(n, n)
    dist = (xx + xx.t() - 2 * emb @ emb.t()).clamp(min=1e-12).sqrt()
    is_pos = targets.view(n, 1).eq(targets.view(1, n)).to(emb.dtype)
    is_neg = 1 - is_pos
    dist_ap, _ = torch.max(dist * is_pos, dim=1)
    dist_an, _ = torch.min(dist * is_neg + is_pos * 1e9, dim=1)
    return F.soft_margin_loss(dist_an - dist_ap, torch.ones_like(dist_an))


def mgn_losses(out, targets):
    """fast-reid mgn.py losses() with CE eps 0, triplet MARGIN 0 (soft margin), hard mining; the z's it reads."""
    ce = sum(0.125 * F.cross_entropy(out[h][0], targets) for h in out)
    feats = [out['b1'][1], out['b2'][1], out['b3'][1], torch.cat((out['b21'][1], out['b22'][1]), 1), torch.cat((out['b31'][1], out['b32'][1], out['b33'][1]), 1)]
    tri = sum(0.2 * triplet_soft_hard(f, targets) for f in feats)
    return ce + tri, [out[h][0] for h in out] + feats


def main():
    cases = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    for c in cases:
        torch.manual_seed(c['seed'])
        model = TinyMGN(c['widths'], c['numClasses'], c['pool'])
        keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        model.load_state_dict(seeded_state(keys, c['seed']))
        model.train()
        h, w = c['input']
        x = torch.randn(c['batch'], 3, h, w, generator=torch.Generator().manual_seed(c['seed'] + 1))
        labels = torch.tensor(c['labels'], dtype=torch.long)
        np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy(), dtype='<f4').tofile(os.path.join(out_dir, c['id'] + '.input.f32'))
        torch.save({'model': model.state_dict()}, os.path.join(out_dir, c['id'] + '.pth'))
        result = {'trainable': [k for k, p in model.named_parameters() if p.requires_grad]}
        zs = {}
        for suffix, m, xx in (('', copy.deepcopy(model), x), ('64', copy.deepcopy(model).double(), x.double())):
            opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=c['lr'], momentum=0, weight_decay=0)
            opt.zero_grad()
            loss, z = mgn_losses(m(xx), labels)
            if suffix == '64':
                grads = torch.autograd.grad(loss, z, retain_graph=True)
                result['lossFloor'] = float(sum((g.abs() * (a.double() - b).abs()).sum() for g, a, b in zip(grads, zs[''], z)))
            zs[suffix] = [t.detach() for t in z]
            loss.backward()
            opt.step()
            result['loss' + suffix] = float(loss)
            torch.save({'model': m.float().state_dict()}, os.path.join(out_dir, c['id'] + '.after' + suffix + '.pth'))
        with open(os.path.join(out_dir, c['id'] + '.json'), 'w') as f:
            json.dump(result, f)
    print(json.dumps({'torch': torch.__version__, 'cases': len(cases)}))


if __name__ == '__main__':
    main()
