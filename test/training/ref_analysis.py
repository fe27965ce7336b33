"""Outside references for the evaluation analyses (main/training/eval/roc.ts, camera-pairs.ts).

- ROC: pairs collected as fast-reid fastreid/evaluation/roc.py `evaluate_roc_py` does (same-pid-same-camera
  gallery entries removed), labelled in the verification convention (true pair = 1, score = -distance), then
  scikit-learn's `roc_curve` (default drop_intermediate=True) and `roc_auc_score`; TPR@FPR as
  fastreid/evaluation/reid_evaluation.py: `ind = np.argmin(np.abs(fprs - fpr))`, except that sklearn's prepended
  point 0 (threshold max(score) + 1: no pair accepted) loses a tie to point 1 (README "Thresholds and camera pairs").
- Distributions: numpy `np.histogram(x, bins, range=(min, max))` of the true / false pair distances.
- Per camera pair: the numpy port of fast-reid rank.py `eval_market1501` (ref_eval.py eval_func) run on each (query camera, gallery
  camera) sub-matrix; a cell whose port asserts (no valid query) is None.

Usage: /usr/bin/python3 ref_analysis.py < request.json > result.json
"""
import json
import sys

import numpy as np
from sklearn import metrics

# The numpy port of RSB eval_func / torchreid + fast-reid rank.py eval_market1501 (the same rule and code).
from ref_eval import eval_func


def roc_pairs(distmat, q_pids, g_pids, q_camids, g_camids):
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    pos, neg = [], []
    for q_idx in range(distmat.shape[0]):
        order = indices[q_idx]
        remove = (g_pids[order] == q_pids[q_idx]) & (g_camids[order] == q_camids[q_idx])
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        sort_idx = order[keep]
        q_dist = distmat[q_idx]
        pos.extend(q_dist[sort_idx[np.where(raw_cmc == 1)[0]]])
        neg.extend(q_dist[sort_idx[np.where(raw_cmc == 0)[0]]])
    return np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)


def main():
    req = json.load(sys.stdin)
    Q, G = req['Q'], req['G']
    distmat = np.asarray(req['distmat'], dtype=np.float64).reshape(Q, G)
    qp, gp = np.asarray(req['qp']), np.asarray(req['gp'])
    qc, gc = np.asarray(req['qc']), np.asarray(req['gc'])
    out = {}
    pos, neg = roc_pairs(distmat, qp, gp, qc, gc)
    labels = np.hstack((np.ones(len(pos)), np.zeros(len(neg))))
    scores = -np.hstack((pos, neg))
    fpr, tpr, thr = metrics.roc_curve(labels, scores)
    out['fpr'] = fpr.tolist()
    out['tpr'] = tpr.tolist()
    out['threshold'] = (-thr).tolist()
    out['auc'] = float(metrics.roc_auc_score(labels, scores))
    out['tprAtFpr'] = []
    for f in [1e-4, 1e-3, 1e-2]:
        d = np.abs(fpr - f)
        ind = int(np.argmin(d))
        if ind == 0 and d[1] == d[0]:
            ind = 1
        out['tprAtFpr'].append({'fpr': f, 'index': ind, 'actualFpr': float(fpr[ind]), 'tpr': float(tpr[ind]), 'threshold': float(-thr[ind]), 'acceptsNone': ind == 0})
    lo = min(pos.min(), neg.min())
    hi = max(pos.max(), neg.max())
    hp, edges = np.histogram(pos, bins=req['bins'], range=(lo, hi))
    hn, _ = np.histogram(neg, bins=req['bins'], range=(lo, hi))
    out['histogram'] = {'edges': edges.tolist(), 'positive': hp.tolist(), 'negative': hn.tolist(), 'positiveMean': float(pos.mean()), 'negativeMean': float(neg.mean()),
                        'positiveDensity': np.histogram(pos, bins=req['bins'], range=(lo, hi), density=True)[0].tolist()}
    cells = []
    for c1 in sorted(set(qc.tolist())):
        for c2 in sorted(set(gc.tolist())):
            qi = np.where(qc == c1)[0]
            gi = np.where(gc == c2)[0]
            try:
                cmc, mAP, _, valid = eval_func(distmat[np.ix_(qi, gi)], qp[qi], gp[gi], qc[qi], gc[gi], 50)
                cells.append({'queryCamera': c1, 'galleryCamera': c2, 'mAP': float(mAP), 'rank1': float(cmc[0]), 'numValidQuery': valid})
            except AssertionError:
                cells.append({'queryCamera': c1, 'galleryCamera': c2, 'mAP': None, 'rank1': None, 'numValidQuery': 0})
    out['cells'] = cells
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
