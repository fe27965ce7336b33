"""PyTorch reference for the RSB losses (reid-strong-baseline layers/softmax_loss.py, triplet_loss.py,
center_loss.py, layers/__init__.py), for checking the TF.js port.

Reads {"logits", "feat", "labels", "centers", "num_classes", "cases": [{sampler, metric, label_smooth,
margin, center_weight, center_lr}]} on stdin; prints per case the loss terms, the total, the gradients of
the total w.r.t. logits / feat / centers and the centers after RSB's center optimizer step.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class CrossEntropyLabelSmooth(nn.Module):
    def __init__(self, num_classes, epsilon=0.1):
        super().__init__()
        self.num_classes = num_classes
        self.epsilon = epsilon
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, inputs, targets):
        log_probs = self.logsoftmax(inputs)
        targets = torch.zeros(log_probs.size()).scatter_(1, targets.unsqueeze(1).data.cpu(), 1)
        targets = (1 - self.epsilon) * targets + self.epsilon / self.num_classes
        loss = (-targets * log_probs).mean(0).sum()
        return loss


def euclidean_dist(x, y):
    m, n = x.size(0), y.size(0)
    xx = torch.pow(x, 2).sum(1, keepdim=True).expand(m, n)
    yy = torch.pow(y, 2).sum(1, keepdim=True).expand(n, m).t()
    dist = xx + yy
    dist = dist - 2 * x @ y.t()
    dist = dist.clamp(min=1e-12).sqrt()
    return dist


def hard_example_mining(dist_mat, labels):
    N = dist_mat.size(0)
    is_pos = labels.expand(N, N).eq(labels.expand(N, N).t())
    is_neg = labels.expand(N, N).ne(labels.expand(N, N).t())
    dist_ap, _ = torch.max(dist_mat[is_pos].contiguous().view(N, -1), 1, keepdim=True)
    dist_an, _ = torch.min(dist_mat[is_neg].contiguous().view(N, -1), 1, keepdim=True)
    return dist_ap.squeeze(1), dist_an.squeeze(1)


class TripletLoss:
    def __init__(self, margin):
        self.margin = margin
        self.ranking_loss = nn.MarginRankingLoss(margin=margin)

    def __call__(self, global_feat, labels):
        dist_mat = euclidean_dist(global_feat, global_feat)
        dist_ap, dist_an = hard_example_mining(dist_mat, labels)
        y = torch.ones_like(dist_an)
        return self.ranking_loss(dist_an, dist_ap, y)


class CenterLoss(nn.Module):
    def __init__(self, centers):
        super().__init__()
        self.num_classes, self.feat_dim = centers.shape
        self.centers = nn.Parameter(centers.clone())

    def forward(self, x, labels):
        batch_size = x.size(0)
        distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch_size, self.num_classes) + \
            torch.pow(self.centers, 2).sum(dim=1, keepdim=True).expand(self.num_classes, batch_size).t()
        distmat = distmat - 2 * x @ self.centers.t()
        classes = torch.arange(self.num_classes).long()
        labels = labels.unsqueeze(1).expand(batch_size, self.num_classes)
        mask = labels.eq(classes.expand(batch_size, self.num_classes))
        dist = distmat * mask.float()
        loss = dist.clamp(min=1e-12, max=1e12).sum() / batch_size
        return loss


def run_case(req, case):
    logits = torch.tensor(req["logits"], requires_grad=True)
    feat = torch.tensor(req["feat"], requires_grad=True)
    target = torch.tensor(req["labels"], dtype=torch.long)
    C = req["num_classes"]
    sampler, metric = case["sampler"], case["metric"]
    ls_on = case["label_smooth"]
    xent = CrossEntropyLabelSmooth(C) if ls_on else None
    out = {}

    def ce(score):
        v = xent(score, target) if ls_on else F.cross_entropy(score, target)
        out["ce"] = float(v)
        return v

    triplet = TripletLoss(case["margin"])
    center = CenterLoss(torch.tensor(req["centers"]))
    if metric == "triplet":  # make_loss (no center)
        if sampler == "softmax":
            v = F.cross_entropy(logits, target)
            out["ce"] = float(v)
            total = v
        elif sampler == "triplet":
            t = triplet(feat, target)
            out["triplet"] = float(t)
            total = t
        else:
            t = triplet(feat, target)
            out["triplet"] = float(t)
            total = ce(logits) + t
    else:  # make_loss_with_center
        c = center(feat, target)
        # RSB's clamp adds (C-1)*1e-12 from the masked-out entries; the port omits this constant.
        out["center"] = float(c) - (C - 1) * 1e-12
        if metric == "center":
            total = ce(logits) + case["center_weight"] * c
        else:
            t = triplet(feat, target)
            out["triplet"] = float(t)
            total = ce(logits) + t + case["center_weight"] * c
    total.backward()
    out["total"] = float(total)
    out["grad_logits"] = logits.grad.tolist() if logits.grad is not None else None
    out["grad_feat"] = feat.grad.tolist() if feat.grad is not None else None
    if metric != "triplet":
        # RSB tools/train.py: optimizer_center = SGD(center_criterion.parameters(), lr=CENTER_LR);
        # for param in center_criterion.parameters(): param.grad.data *= (1. / CENTER_LOSS_WEIGHT)
        opt = torch.optim.SGD(center.parameters(), lr=case["center_lr"])
        out["grad_centers"] = center.centers.grad.tolist()
        for p in center.parameters():
            p.grad.data *= 1.0 / case["center_weight"]
        opt.step()
        out["centers_after"] = center.centers.detach().tolist()
    return out


def main():
    req = json.load(sys.stdin)
    json.dump([run_case(req, c) for c in req["cases"]], sys.stdout)


if __name__ == "__main__":
    main()
