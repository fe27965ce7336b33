"""Loads configs the way reid-strong-baseline and fast-reid do, to check exported YAML is accepted there.

Reference: yacs 0.1.x `yacs/config.py` (used by both frameworks): `CfgNode.merge_from_file` reads the
file with PyYAML `safe_load`, then `_merge_a_into_b` rejects keys missing from the defaults
("Non-existent config key"), decodes every string value with `ast.literal_eval` when it parses
(`_decode_cfg_value`), and rejects a value whose type differs from the default's except list<->tuple
(`_check_and_coerce_cfg_value_type`, "Type mismatch"). fast-reid first resolves `_BASE_`
(fastreid/config/config.py `load_yaml_with_base`).

The defaults are the frameworks' own (reid-strong-baseline config/defaults.py; fast-reid
fastreid/config/defaults.py), built by their code and stored in test/fixtures/frameworks/configs/merged.json
(JSON keeps Python's int / float / bool / str types; tuples become lists, which yacs merges alike).

usage: yacs_merge.py rsb|fastreid FILE...   prints one JSON object per file: {"ok": true, "cfg": {...}}
or {"ok": false, "error": "..."}.
"""
import ast
import json
import os
import sys

import yaml

# The frameworks' defaults as their own code builds them (fast-reid `get_cfg()`, RSB `config.cfg`), extracted
# with yacs by test/fixtures/frameworks/make_config_references.py.
_REFS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'frameworks', 'configs', 'merged.json')
with open(_REFS) as _f:
    _DEFAULTS = json.load(_f)['defaults']
RSB = _DEFAULTS['rsb']
FASTREID = _DEFAULTS['fastreid']


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
