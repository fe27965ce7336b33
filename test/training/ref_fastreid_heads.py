"""PyTorch reference for fast-reid's margin classification layers and triplet loss, written from
fastreid/layers/any_softmax.py (Linear, CosSoftmax, ArcSoftmax, CircleSoftmax),
fastreid/modeling/heads/embedding_head.py (cosine logits between F.normalize'd neck feature and weight)
and fastreid/modeling/losses/triplet_loss.py (hard / weighted example mining, margin ranking / soft margin).

Reads {"feat", "weight" (num_classes x dim, fast-reid layout), "labels", "tri_feat", "cls": [{layer, scale,
margin}], "tri": [{margin, hard_mining, norm_feat}]} on stdin; prints {"cls": [{logits, ce, grad_feat,
grad_weight}], "tri": [{loss, grad}]} with CE = F.cross_entropy on the cls_outputs.
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class Linear:
    def __init__(self, num_classes, scale, margin):
        self.s = scale
        self.m = margin

    def __call__(self, logits, targets):
        return logits


class CosSoftmax(Linear):
    def __call__(self, logits, targets):
        index = torch.where(targets != -1)[0]
        m_hot = torch.zeros(index.size()[0], logits.size()[1], dtype=logits.dtype)
        m_hot.scatter_(1, targets[index, None], self.m)
        logits[index] -= m_hot
        logits.mul_(self.s)
        return logits


class ArcSoftmax(Linear):
    def __call__(self, logits, targets):
        index = torch.where(targets != -1)[0]
        m_hot = torch.zeros(index.size()[0], logits.size()[1], dtype=logits.dtype)
        m_hot.scatter_(1, targets[index, None], self.m)
        logits.acos_()
        logits[index] += m_hot
        logits.cos_().mul_(self.s)
        return logits


class CircleSoftmax(Linear):
    def __call__(self, logits, targets):
        alpha_p = torch.clamp_min(-logits.detach() + 1 + self.m, min=0.)
        alpha_n = torch.clamp_min(logits.detach() + self.m, min=0.)
        delta_p = 1 - self.m
        delta_n = self.m
        index = torch.where(targets != -1)[0]
        m_hot = torch.zeros(index.size()[0], logits.size()[1], dtype=logits.dtype)
        m_hot.scatter_(1, targets[index, None], 1)
        logits_p = alpha_p * (logits - delta_p)
        logits_n = alpha_n * (logits - delta_n)
        logits[index] = logits_p[index] * m_hot + logits_n[index] * (1 - m_hot)
        neg_index = torch.where(targets == -1)[0]
        logits[neg_index] = logits_n[neg_index]
        logits.mul_(self.s)
        return logits


LAYERS = {"Linear": Linear, "CosSoftmax": CosSoftmax, "ArcSoftmax": ArcSoftmax, "CircleSoftmax": CircleSoftmax}


def head_cls_outputs(cls_layer, neck_feat, weight, targets):
    # EmbeddingHead.forward, training branch
    if cls_layer.__class__.__name__ == 'Linear':
        logits = F.linear(neck_feat, weight)
    else:
        logits = F.linear(F.normalize(neck_feat), F.normalize(weight))
    return cls_layer(logits.clone(), targets)


def euclidean_dist(x, y):
    m, n = x.size(0), y.size(0)
    xx = torch.pow(x, 2).sum(1, keepdim=True).expand(m, n)
    yy = torch.pow(y, 2).sum(1, keepdim=True).expand(n, m).t()
    dist = xx + yy - 2 * torch.matmul(x, y.t())
    dist = dist.clamp(min=1e-12).sqrt()
    return dist


def softmax_weights(dist, mask):
    max_v = torch.max(dist * mask, dim=1, keepdim=True)[0]
    diff = dist - max_v
    Z = torch.sum(torch.exp(diff) * mask, dim=1, keepdim=True) + 1e-6
    return torch.exp(diff) * mask / Z


def hard_example_mining(dist_mat, is_pos, is_neg):
    N = dist_mat.size(0)
    dist_ap, _ = torch.max(dist_mat[is_pos].contiguous().view(N, -1), 1, keepdim=True)
    dist_an, _ = torch.min(dist_mat[is_neg].contiguous().view(N, -1), 1, keepdim=True)
    return dist_ap.squeeze(1), dist_an.squeeze(1)


def weighted_example_mining(dist_mat, is_pos, is_neg):
    is_pos = is_pos.float().double()
    is_neg = is_neg.float().double()
    dist_ap = dist_mat * is_pos
    dist_an = dist_mat * is_neg
    weights_ap = softmax_weights(dist_ap, is_pos)
    weights_an = softmax_weights(-dist_an, is_neg)
    return torch.sum(dist_ap * weights_ap, dim=1), torch.sum(dist_an * weights_an, dim=1)


def triplet_loss(embedding, targets, margin, norm_feat, hard_mining):
    if norm_feat:
        embedding = F.normalize(embedding, dim=-1)
    dist_mat = euclidean_dist(embedding, embedding)
    N, M = dist_mat.size()
    is_pos = targets.view(N, 1).expand(N, M).eq(targets.view(M, 1).expand(M, N).t())
    is_neg = targets.view(N, 1).expand(N, M).ne(targets.view(M, 1).expand(M, N).t())
    if hard_mining:
        dist_ap, dist_an = hard_example_mining(dist_mat, is_pos, is_neg)
    else:
        dist_ap, dist_an = weighted_example_mining(dist_mat, is_pos, is_neg)
    y = dist_an.new().resize_as_(dist_an).fill_(1)
    if margin > 0:
        return F.margin_ranking_loss(dist_an, dist_ap, y, margin=margin)
    return F.soft_margin_loss(dist_an - dist_ap, y)


req = json.load(sys.stdin)
labels = torch.tensor(req["labels"], dtype=torch.long)
out = {"cls": [], "tri": []}
for c in req["cls"]:
    feat = torch.tensor(req["feat"], requires_grad=True)
    weight = torch.tensor(req["weight"], requires_grad=True)
    layer = LAYERS[c["layer"]](weight.size(0), c["scale"], c["margin"])
    logits = head_cls_outputs(layer, feat, weight, labels)
    ce = F.cross_entropy(logits, labels)
    ce.backward()
    out["cls"].append({"logits": logits.tolist(), "ce": ce.item(), "grad_feat": feat.grad.tolist(), "grad_weight": weight.grad.tolist()})
for t in req["tri"]:
    feat = torch.tensor(req["tri_feat"], requires_grad=True)
    loss = triplet_loss(feat, labels, t["margin"], t["norm_feat"], t["hard_mining"])
    loss.backward()
    out["tri"].append({"loss": loss.item(), "grad": feat.grad.tolist()})
print(json.dumps(out))
