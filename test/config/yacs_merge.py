"""Loads configs the way reid-strong-baseline and fast-reid do, to check exported YAML is accepted there.

Reference: yacs 0.1.x `yacs/config.py` (used by both frameworks): `CfgNode.merge_from_file` reads the
file with PyYAML `safe_load`, then `_merge_a_into_b` rejects keys missing from the defaults
("Non-existent config key"), decodes every string value with `ast.literal_eval` when it parses
(`_decode_cfg_value`), and rejects a value whose type differs from the default's except list<->tuple
(`_check_and_coerce_cfg_value_type`, "Type mismatch"). fast-reid first resolves `_BASE_`
(fastreid/config/config.py `load_yaml_with_base`).

The defaults are the frameworks' defaults.py values with their Python types (reid-strong-baseline
config/defaults.py; fast-reid fastreid/config/defaults.py) for every key the exporters write.

usage: yacs_merge.py rsb|fastreid FILE...   prints one JSON object per file: {"ok": true, "cfg": {...}}
or {"ok": false, "error": "..."}.
"""
import ast
import json
import sys

import yaml

RSB = {
    "MODEL": {
        "DEVICE": "cuda", "DEVICE_ID": "0", "NAME": "resnet50", "LAST_STRIDE": 1, "PRETRAIN_PATH": "",
        "PRETRAIN_CHOICE": "imagenet", "NECK": "bnneck", "IF_WITH_CENTER": "no", "METRIC_LOSS_TYPE": "triplet",
        "IF_LABELSMOOTH": "on",
    },
    "INPUT": {
        "SIZE_TRAIN": [384, 128], "SIZE_TEST": [384, 128], "PROB": 0.5, "RE_PROB": 0.5,
        "PIXEL_MEAN": [0.485, 0.456, 0.406], "PIXEL_STD": [0.229, 0.224, 0.225], "PADDING": 10,
    },
    "DATASETS": {"NAMES": ("market1501"), "ROOT_DIR": ("./data")},
    "DATALOADER": {"NUM_WORKERS": 8, "SAMPLER": "softmax", "NUM_INSTANCE": 16},
    "SOLVER": {
        "OPTIMIZER_NAME": "Adam", "MAX_EPOCHS": 50, "BASE_LR": 3e-4, "BIAS_LR_FACTOR": 2, "MOMENTUM": 0.9,
        "MARGIN": 0.3, "CLUSTER_MARGIN": 0.3, "CENTER_LR": 0.5, "CENTER_LOSS_WEIGHT": 0.0005, "RANGE_K": 2,
        "RANGE_MARGIN": 0.3, "RANGE_ALPHA": 0, "RANGE_BETA": 1, "RANGE_LOSS_WEIGHT": 1, "WEIGHT_DECAY": 0.0005,
        "WEIGHT_DECAY_BIAS": 0., "GAMMA": 0.1, "STEPS": (30, 55), "WARMUP_FACTOR": 1.0 / 3, "WARMUP_ITERS": 500,
        "WARMUP_METHOD": "linear", "CHECKPOINT_PERIOD": 50, "LOG_PERIOD": 100, "EVAL_PERIOD": 50,
        "IMS_PER_BATCH": 64,
    },
    "TEST": {"IMS_PER_BATCH": 128, "RE_RANKING": "no", "WEIGHT": "", "NECK_FEAT": "after", "FEAT_NORM": "yes"},
    "OUTPUT_DIR": "",
}

FASTREID = {
    "MODEL": {
        "DEVICE": "cuda", "META_ARCHITECTURE": "Baseline", "FREEZE_LAYERS": [],
        "BACKBONE": {
            "NAME": "build_resnet_backbone", "DEPTH": "50x", "LAST_STRIDE": 1, "FEAT_DIM": 2048, "NORM": "BN",
            "WITH_IBN": False, "WITH_SE": False, "WITH_NL": False, "PRETRAIN": False, "PRETRAIN_PATH": "",
        },
        "HEADS": {
            "NAME": "EmbeddingHead", "NORM": "BN", "NUM_CLASSES": 0, "EMBEDDING_DIM": 0, "WITH_BNNECK": False,
            "NECK_FEAT": "before", "POOL_LAYER": "GlobalAvgPool", "CLS_LAYER": "Linear", "MARGIN": 0., "SCALE": 1,
        },
        "LOSSES": {
            "NAME": ("CrossEntropyLoss",),
            "CE": {"EPSILON": 0.0, "ALPHA": 0.2, "SCALE": 1.0},
            "TRI": {"MARGIN": 0.3, "NORM_FEAT": False, "HARD_MINING": False, "SCALE": 1.0},
        },
        "WEIGHTS": "",
        "PIXEL_MEAN": [0.485 * 255, 0.456 * 255, 0.406 * 255],
        "PIXEL_STD": [0.229 * 255, 0.224 * 255, 0.225 * 255],
    },
    "INPUT": {
        "SIZE_TRAIN": [256, 128], "SIZE_TEST": [256, 128],
        "FLIP": {"ENABLED": False, "PROB": 0.5},
        "PADDING": {"ENABLED": False, "MODE": "constant", "SIZE": 10},
        "REA": {"ENABLED": False, "PROB": 0.5, "VALUE": [0.485 * 255, 0.456 * 255, 0.406 * 255]},
        "AUTOAUG": {"ENABLED": False, "PROB": 0.0},
    },
    "DATASETS": {"NAMES": ("Market1501",), "TESTS": ("Market1501",), "COMBINEALL": False},
    "DATALOADER": {"SAMPLER_TRAIN": "TrainingSampler", "NUM_INSTANCE": 4, "NUM_WORKERS": 8},
    "SOLVER": {
        "AMP": {"ENABLED": False}, "OPT": "Adam", "MAX_EPOCH": 120, "BASE_LR": 3e-4, "HEADS_LR_FACTOR": 1.,
        "MOMENTUM": 0.9, "NESTEROV": False, "WEIGHT_DECAY": 0.0005, "WEIGHT_DECAY_NORM": 0.0005,
        "BIAS_LR_FACTOR": 1.0, "WEIGHT_DECAY_BIAS": 0.0005, "SCHED": "MultiStepLR", "DELAY_EPOCHS": 0,
        "GAMMA": 0.1, "STEPS": [30, 55], "ETA_MIN_LR": 1e-7, "WARMUP_FACTOR": 0.1, "WARMUP_ITERS": 1000,
        "WARMUP_METHOD": "linear", "FREEZE_ITERS": 0, "CHECKPOINT_PERIOD": 20, "IMS_PER_BATCH": 64,
    },
    "TEST": {
        "EVAL_PERIOD": 20, "IMS_PER_BATCH": 64, "METRIC": "cosine",
        "RERANK": {"ENABLED": False, "K1": 20, "K2": 6, "LAMBDA": 0.3},
    },
    "OUTPUT_DIR": "logs/",
    "CUDNN_BENCHMARK": False,
}


def decode(v):
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    if not isinstance(v, str):
        return v
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def coerce(replacement, original, full_key):
    if type(original) == type(replacement):
        return replacement
    for a, b in ((tuple, list), (list, tuple)):
        if isinstance(replacement, a) and isinstance(original, b):
            return b(replacement)
    raise ValueError(
        "Type mismatch ({} vs. {}) with values ({} vs. {}) for config key: {}".format(
            type(original), type(replacement), original, replacement, full_key))


def merge(a, b, prefix=""):
    for k, v in a.items():
        full = prefix + k
        if k not in b:
            raise KeyError("Non-existent config key: {}".format(full))
        v = decode(v)
        if isinstance(b[k], dict):
            if not isinstance(v, dict):
                raise ValueError("{} must be a mapping".format(full))
            merge(v, b[k], full + ".")
        else:
            b[k] = coerce(v, b[k], full)


def load(path, defaults):
    import copy
    import os
    with open(path) as f:
        cfg = yaml.safe_load(f)
    base = cfg.pop("_BASE_", None)
    out = copy.deepcopy(defaults)
    if base is not None:
        out = load(os.path.join(os.path.dirname(path), base), defaults)
    merge(cfg, out)
    return out


def main():
    defaults = {"rsb": RSB, "fastreid": FASTREID}[sys.argv[1]]
    for path in sys.argv[2:]:
        try:
            cfg = load(path, defaults)
            print(json.dumps({"ok": True, "cfg": cfg}))
        except Exception as e:  # report, do not crash: the test asserts on it
            print(json.dumps({"ok": False, "error": "{}: {}".format(type(e).__name__, e)}))


if __name__ == "__main__":
    main()
