"""Reference gradients for the onnx-grad operator test: each case's forward in float64 PyTorch with the
operator semantics of the ONNX lowering (nn.Conv2d with groups / dilation, nn.AvgPool2d, fast-reid's SplAtConv2d, F.batch_norm in training / eval mode, nn.InstanceNorm2d
(affine), IBN-a, ReLU, MaxPool2d(3, 2, 1), fast-reid GeM, AdaptiveAvgPool + Linear), then
out.backward(G) for a random upstream gradient G. Prints JSON: per case the inputs (rounded to float32),
G, the output and the gradient of every input."""
import json
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def r(*shape, scale=1.0, positive=False):
    t = torch.randn(*shape).float().double() * scale
    return (t.abs() + 0.5 if positive else t)


def case_inputs(c):
    k = c["kind"]
    if k == "conv":
        n, ci, h, w = c["x"]
        t = {"x": r(n, ci, h, w), "W": r(c["co"], ci // c.get("g", 1), c["k"], c["k"], scale=0.3)}
        if c.get("bias"):
            t["B"] = r(c["co"])
        return t
    if k in ("bn_train", "bn_eval", "in"):
        ch = c["x"][1]
        t = {"x": r(*c["x"]) * 2 + 0.5, "gamma": r(ch) + 1, "beta": r(ch)}
        if k == "bn_eval":
            t["mean"] = r(ch) * 0.1
            t["var"] = r(ch, positive=True)
        return t
    if k == "ibn":
        ch = c["x"][1]
        return {"x": r(*c["x"]), "in_gamma": r(c["half"]) + 1, "in_beta": r(c["half"]), "bn_gamma": r(ch - c["half"]) + 1, "bn_beta": r(ch - c["half"])}
    if k == "relu_add":
        return {"x": r(*c["x"]), "y": r(*c["x"])}
    if k == "splat":
        ci, rc, g, inter = c["x"][1], c["radix"] * c["c"], c["card"], c["inter"]
        return {
            "x": r(*c["x"]),
            "conv_W": r(rc, ci // (c["radix"] * g), 3, 3, scale=0.5),
            "bn0_gamma": r(rc) + 1, "bn0_beta": r(rc),
            "fc1_W": r(inter, c["c"] // g, 1, 1, scale=0.5), "fc1_B": r(inter),
            "bn1_gamma": r(inter) + 1, "bn1_beta": r(inter),
            "fc2_W": r(rc, inter // g, 1, 1, scale=0.5), "fc2_B": r(rc),
        }
    if k in ("maxpool", "maxpool_ceil", "maxpool_any", "avgpool"):
        return {"x": r(*c["x"])}
    if k == "relu_maxpool":
        return {"x": r(*c["x"]) - 1.0}
    if k == "se":
        ch = c["x"][1]
        return {"x": r(*c["x"]), "W1": r(ch // 2, ch, 1, 1), "W2": r(ch, ch // 2, 1, 1)}
    if k == "gem":
        return {"x": r(*c["x"]), "p": torch.tensor([3.0])}
    if k == "gap_gemm":
        return {"x": r(*c["x"]), "W": r(c["x"][1], c["units"], scale=0.3), "B": r(c["units"])}
    if k == "gram":
        return {"x": r(*c["x"]), "W": r(c["x"][1], c["x"][0], scale=0.3)}
    raise ValueError(k)


def forward(c, t):
    k = c["kind"]
    if k == "conv":
        return F.conv2d(t["x"], t["W"], t.get("B"), stride=c["s"], padding=c["p"], dilation=c.get("d", 1), groups=c.get("g", 1))
    if k == "avgpool":
        return F.avg_pool2d(t["x"], c["k"], c["s"], c["p"], ceil_mode=c["ceil"], count_include_pad=c["include"])
    if k == "splat":
        return splat(c, t)
    if k == "bn_train":
        return F.batch_norm(t["x"], None, None, t["gamma"], t["beta"], training=True, eps=1e-5)
    if k == "bn_eval":
        return F.batch_norm(t["x"], t["mean"], t["var"], t["gamma"], t["beta"], training=False, eps=1e-5)
    if k == "in":
        return F.instance_norm(t["x"], weight=t["gamma"], bias=t["beta"], eps=1e-5)
    if k == "ibn":
        h = c["half"]
        a, b = torch.split(t["x"], [h, c["x"][1] - h], 1)
        return torch.cat([F.instance_norm(a, weight=t["in_gamma"], bias=t["in_beta"], eps=1e-5), F.batch_norm(b, None, None, t["bn_gamma"], t["bn_beta"], training=True, eps=1e-5)], 1)
    if k == "relu_add":
        return F.relu(t["x"]) + t["y"]
    if k == "maxpool":
        return F.max_pool2d(t["x"], 3, 2, 1)
    if k == "maxpool_ceil":
        return F.max_pool2d(t["x"], 3, 2, 0, ceil_mode=True)
    if k == "maxpool_any":
        return F.max_pool2d(t["x"], c["k"], c["s"], c["p"], ceil_mode=c.get("ceil", False))
    if k == "relu_maxpool":
        return F.max_pool2d(F.relu(t["x"]), 3, 2, 1)
    if k == "se":
        # fast-reid SELayer / torchvision SE: x * sigmoid(fc2(relu(fc1(avgpool(x)))))
        s = torch.sigmoid(F.conv2d(F.relu(F.conv2d(F.adaptive_avg_pool2d(t["x"], 1), t["W1"])), t["W2"]))
        return t["x"] * s
    if k == "gem":
        # fastreid/layers/pooling.py GeneralizedMeanPooling
        return F.adaptive_avg_pool2d(t["x"].clamp(min=1e-6).pow(t["p"]), 1).pow(1.0 / t["p"]).flatten(1)
    if k == "gap_gemm":
        return F.linear(F.adaptive_avg_pool2d(t["x"], 1).flatten(1), t["W"].t(), t["B"])
    if k == "gram":
        return t["x"] @ t["x"].t() + t["x"] @ t["W"]
    raise ValueError(k)


def splat(c, t):
    """fast-reid fastreid/layers/splat.py SplAtConv2d.forward (norm layer, no DropBlock) with rSoftMax, float64."""
    radix, card = c["radix"], c["card"]
    x = F.conv2d(t["x"], t["conv_W"], stride=c.get("s", 1), padding=1, groups=card * radix)
    x = F.relu(F.batch_norm(x, None, None, t["bn0_gamma"], t["bn0_beta"], training=True, eps=1e-5))
    batch, rchannel = x.shape[:2]
    if radix > 1:
        splited = torch.split(x, rchannel // radix, dim=1)
        gap = sum(splited)
    else:
        gap = x
    gap = F.adaptive_avg_pool2d(gap, 1)
    gap = F.conv2d(gap, t["fc1_W"], t["fc1_B"], groups=card)
    gap.retain_grad()
    SAVED["fc1"] = gap
    gap = F.relu(F.batch_norm(gap, None, None, t["bn1_gamma"], t["bn1_beta"], training=True, eps=1e-5))
    atten = F.conv2d(gap, t["fc2_W"], t["fc2_B"], groups=card)
    # rSoftMax
    if radix > 1:
        atten = atten.view(batch, card, radix, -1).transpose(1, 2)
        atten = F.softmax(atten, dim=1).reshape(batch, -1)
    else:
        atten = torch.sigmoid(atten).reshape(batch, -1)
    atten = atten.view(batch, -1, 1, 1)
    if radix > 1:
        attens = torch.split(atten, rchannel // radix, dim=1)
        return sum(att * split for (att, split) in zip(attens, splited))
    return atten * x


SAVED = {}
cases = json.load(sys.stdin)
out = {}
for c in cases:
    t = case_inputs(c)
    for n, v in t.items():
        v.requires_grad_(n not in ("mean", "var"))
    y = forward(c, t)
    g = torch.randn(*y.shape).float().double()
    y.backward(g)
    res = {"inputs": {n: {"shape": list(v.shape), "data": v.detach().flatten().tolist()} for n, v in t.items()}, "G": g.flatten().tolist(), "out": {"shape": list(y.shape), "data": y.detach().flatten().tolist()}, "grads": {n: v.grad.flatten().tolist() for n, v in t.items() if v.grad is not None}}
    if c["kind"] == "splat":
        # fc1's bias feeds bn1 (batch statistics): its gradient Σ_n ∂fc1[n] is 0 in exact arithmetic; a float32
        # sum of those N terms is judged at their scale, N · max|∂fc1|.
        res["zero_grad_scale"] = {"fc1_B": SAVED["fc1"].grad.abs().max().item() * SAVED["fc1"].shape[0]}
    if c["kind"] in ("bn_train",):
        x = t["x"].detach()
        dims = [0] + list(range(2, x.dim()))
        res["batch_mean"] = x.mean(dims).tolist()
        res["batch_var"] = x.var(dims, unbiased=True).tolist()
    out[c["id"]] = res
json.dump(out, sys.stdout)
