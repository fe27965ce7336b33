"""Reference person re-ID evaluation in numpy, written from the published implementations for checking the
TypeScript port:

- eval_func: RSB data/datasets/eval_reid.py (identical rule to torchreid metrics/rank.py eval_market1501,
  plus torchreid/fast-reid's mINP).
- distances: RSB utils/reid_metric.py R1_mAP (optional L2 normalisation, squared Euclidean
  ||q||^2 + ||g||^2 - 2 q.g), or fast-reid's cosine 1 - cos.
- re_ranking: RSB utils/re_ranking.py (Zhong et al. CVPR 2017). `dtype` selects float16 (as in the
  reference) or float32/64 for the V / Jaccard matrices.

Usage: python3 ref_eval.py < request.json > result.json   (see main())
"""
import json
import sys
import time

import numpy as np


def eval_func(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, per_query=None, top_k=0):
    """`per_query` (a dict) receives, per query, AP and INP (None when the query is skipped), the 0-based
    rank of the first true match among the kept entries (-1) and the `top_k` nearest kept gallery indices.
    A stable argsort orders ties by gallery index (the reference's quicksort leaves them unspecified)."""
    num_q, num_g = distmat.shape
    if num_g < max_rank:
        max_rank = num_g
    indices = np.argsort(distmat, axis=1, kind="stable" if per_query is not None else "quicksort")
    if per_query is not None:
        per_query.update({"ap": [None] * num_q, "inp": [None] * num_q, "first": [-1] * num_q, "top": []})
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc = []
    all_AP = []
    all_INP = []
    num_valid_q = 0.0
    for q_idx in range(num_q):
        q_pid = q_pids[q_idx]
        q_camid = q_camids[q_idx]
        order = indices[q_idx]
        remove = (g_pids[order] == q_pid) & (g_camids[order] == q_camid)
        keep = np.invert(remove)
        orig_cmc = matches[q_idx][keep]
        if per_query is not None:
            per_query["top"].append([int(x) for x in order[keep][:top_k]])
        if not np.any(orig_cmc):
            continue
        cmc = orig_cmc.cumsum()
        # mINP (torchreid / fast-reid rank.py): uses the uncapped cumulative sum.
        pos_idx = np.where(orig_cmc == 1)
        max_pos_idx = np.max(pos_idx)
        all_INP.append(cmc[max_pos_idx] / (max_pos_idx + 1.0))
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        num_valid_q += 1.0
        num_rel = orig_cmc.sum()
        tmp_cmc = orig_cmc.cumsum()
        tmp_cmc = [x / (i + 1.0) for i, x in enumerate(tmp_cmc)]
        tmp_cmc = np.asarray(tmp_cmc) * orig_cmc
        AP = tmp_cmc.sum() / num_rel
        all_AP.append(AP)
        if per_query is not None:
            per_query["ap"][q_idx] = float(AP)
            per_query["inp"][q_idx] = float(all_INP[-1])
            per_query["first"][q_idx] = int(np.argmax(orig_cmc))
    assert num_valid_q > 0, "Error: all query identities do not appear in gallery"
    all_cmc = np.asarray(all_cmc).astype(np.float32)
    all_cmc = all_cmc.sum(0) / num_valid_q
    mAP = np.mean(all_AP)
    return all_cmc, mAP, float(np.mean(all_INP)), int(num_valid_q)


def normalize(x):
    # torch.nn.functional.normalize(x, dim=1, p=2)
    n = np.sqrt((x.astype(np.float64) ** 2).sum(1, keepdims=True))
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def distances(qf, gf, metric="euclidean", feat_norm=True):
    if feat_norm or metric == "cosine":
        qf = normalize(qf)
        gf = normalize(gf)
    if metric == "cosine":
        return 1.0 - qf @ gf.T
    m, n = qf.shape[0], gf.shape[0]
    distmat = (qf ** 2).sum(1, keepdims=True) + (gf ** 2).sum(1, keepdims=True).T
    distmat = distmat - 2.0 * (qf @ gf.T)
    return distmat.astype(np.float32)


def re_ranking(probFea, galFea, k1, k2, lambda_value, dtype=np.float16, feat_norm=True):
    if feat_norm:
        probFea = normalize(probFea)
        galFea = normalize(galFea)
    query_num = probFea.shape[0]
    all_num = query_num + galFea.shape[0]
    feat = np.concatenate([probFea, galFea]).astype(np.float32)
    sq = (feat ** 2).sum(1, keepdims=True)
    distmat = sq + sq.T - 2.0 * (feat @ feat.T)
    original_dist = distmat.astype(np.float32)
    # The TypeScript port symmetrises; do the same so that rounding noise does not change neighbour order.
    original_dist = ((original_dist.astype(np.float64) + original_dist.T.astype(np.float64)) / 2).astype(np.float32)
    gallery_num = original_dist.shape[0]
    original_dist = np.transpose(original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(dtype)
    initial_rank = np.argsort(original_dist, kind="stable").astype(np.int32)

    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, : k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, : k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, : int(np.around(k1 / 2)) + 1]
            candidate_backward_k_neigh_index = initial_rank[candidate_forward_k_neigh_index, : int(np.around(k1 / 2)) + 1]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2 / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)

        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = weight / np.sum(weight)
    original_dist = original_dist[:query_num,]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=dtype)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
        del V_qe
    del initial_rank
    invIndex = []
    for i in range(gallery_num):
        invIndex.append(np.where(V[:, i] != 0)[0])

    jaccard_dist = np.zeros_like(original_dist, dtype=dtype)

    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=dtype)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2 - temp_min)

    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    final_dist = final_dist[:query_num, query_num:]
    return final_dist


def result(cmc, mAP, mINP, nvalid):
    cmc = [float(x) for x in cmc]
    return {"mAP": float(mAP), "rank1": cmc[0], "rank5": cmc[min(5, len(cmc)) - 1], "rank10": cmc[min(10, len(cmc)) - 1],
            "mINP": mINP, "cmc": cmc, "numValidQuery": nvalid}


def arr(req, k, dtype):
    return np.asarray(req[k], dtype=dtype)


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "bench":
        # Raw little-endian files written by bench/eval.ts; the timed part is distance + eval_func.
        d = req["dim"]
        qf = np.fromfile(req["qf"], dtype=np.float32).reshape(-1, d)
        gf = np.fromfile(req["gf"], dtype=np.float32).reshape(-1, d)
        qp = np.fromfile(req["qp"], dtype=np.int32)
        gp = np.fromfile(req["gp"], dtype=np.int32)
        qc = np.fromfile(req["qc"], dtype=np.int32)
        gc = np.fromfile(req["gc"], dtype=np.int32)
        t0 = time.time()
        distmat = distances(qf, gf, req.get("metric", "euclidean"), req.get("feat_norm", True))
        t1 = time.time()
        cmc, mAP, mINP, nv = eval_func(distmat, qp, gp, qc, gc)
        t2 = time.time()
        out = result(cmc, mAP, mINP, nv)
        out.update({"seconds": t2 - t0, "distSeconds": t1 - t0, "evalSeconds": t2 - t1})
        json.dump(out, sys.stdout)
        return
    qp, gp = arr(req, "q_pids", np.int64), arr(req, "g_pids", np.int64)
    qc, gc = arr(req, "q_camids", np.int64), arr(req, "g_camids", np.int64)
    max_rank = req.get("max_rank", 50)
    if op == "eval":
        distmat = arr(req, "distmat", np.float32)
    elif op == "features":
        distmat = distances(arr(req, "qf", np.float32), arr(req, "gf", np.float32), req["metric"], req["feat_norm"])
    elif op == "rerank":
        dtype = {"float16": np.float16, "float32": np.float32, "float64": np.float64}[req["dtype"]]
        distmat = re_ranking(arr(req, "qf", np.float32), arr(req, "gf", np.float32), req["k1"], req["k2"], req["lambda"], dtype, req["feat_norm"])
    else:
        raise SystemExit("unknown op " + op)
    per_query = {} if req.get("top_k") is not None else None
    cmc, mAP, mINP, nv = eval_func(distmat, qp, gp, qc, gc, max_rank, per_query, req.get("top_k") or 0)
    out = result(cmc, mAP, mINP, nv)
    if per_query is not None:
        # The orders a rank-list browser offers: AP ascending / descending (ties by query index, skipped
        # queries last) and the queries whose rank-1 entry is wrong.
        ap = per_query["ap"]
        valid = [i for i in range(len(ap)) if ap[i] is not None]
        skipped = [i for i in range(len(ap)) if ap[i] is None]
        per_query["order_ap_asc"] = sorted(valid, key=lambda i: (ap[i], i)) + skipped
        per_query["order_ap_desc"] = sorted(valid, key=lambda i: (-ap[i], i)) + skipped
        per_query["failures"] = [i for i in range(len(ap)) if per_query["first"][i] > 0]
        out["perQuery"] = per_query
    out["distmat"] = np.asarray(distmat, dtype=np.float64).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
