"""Outside reference for the embedding map (main/training/eval/projection.ts): scikit-learn's
`sklearn.manifold.trustworthiness` of a 2-D layout against the cosine geometry of its features
(L2-normalised rows, Euclidean), the standard score of how well a projection keeps neighbourhoods.

Usage: /usr/bin/python3 ref_projection.py < {"x": [[...]], "y": [[x, y]], "k": 5} > {"trustworthiness": t}
"""
import json
import sys

import numpy as np
from sklearn.manifold import trustworthiness

req = json.load(sys.stdin)
x = np.asarray(req["x"], dtype=np.float64)
x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
y = np.asarray(req["y"], dtype=np.float64)
json.dump({"trustworthiness": float(trustworthiness(x, y, n_neighbors=req["k"]))}, sys.stdout)
