import { CheckpointError } from './errors.js';
import { LIMITS } from './limits.js';
import { isTensorRef, PyDict, PyObject, PyTuple, type TensorRef } from './pickle.js';

/**
 * Whole-model pickles (`torch.save(model)`, what reid-strong-baseline's ignite ModelCheckpoint wrote with
 * `save_as_state_dict=False`). The pickle reader turns every class it does not know into an inert
 * `PyObject` whose BUILD state is the instance `__dict__`; for a torch.nn.Module that dict holds
 * `_parameters` and `_buffers` (OrderedDicts of tensors or None) and `_modules` (an OrderedDict of child
 * modules). Nothing is imported or called: the module tree is only walked as data.
 */

/** The instance dict of an inert object: BUILD's state, or the dict of a (dict, slots) state tuple. */
function instanceDict(o: PyObject): PyDict | null {
  const s = o.state;
  if (s instanceof PyDict) return s;
  if (s instanceof PyTuple && s.items[0] instanceof PyDict) return s.items[0];
  return null;
}

/** True when `v` looks like a pickled torch.nn.Module (its state has `_parameters` or `_modules`). */
export function isPickledModule(v: unknown): v is PyObject {
  if (!(v instanceof PyObject)) return false;
  const d = instanceDict(v);
  return !!d && (d.map.get('_parameters') instanceof PyDict || d.map.get('_modules') instanceof PyDict);
}

/**
 * The module tree flattened into a state dict, in `Module.state_dict()` order (torch/nn/modules/module.py
 * `_save_to_state_dict`: a module's own parameters, then its persistent buffers, then each child under
 * `name.`); None entries (`bias=False`) and buffers named in `_non_persistent_buffers_set` are left out as
 * state_dict leaves them out. A module shared by two parents appears under both names, as in PyTorch.
 * Throws CheckpointError on a module that contains itself, nesting deeper than LIMITS.moduleDepth or more
 * than LIMITS.moduleEntries modules and tensors (a shared-module DAG can name exponentially many paths).
 */
export function moduleStateDict(root: PyObject): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  const path = new Set<PyObject>();
  let work = 0;
  const count = () => {
    if (++work > LIMITS.moduleEntries) throw new CheckpointError(`malformed checkpoint: the pickled modules name more than ${LIMITS.moduleEntries} modules and tensors`, 'E_CHECKPOINT_TOO_LARGE');
  };
  const visit = (m: PyObject, prefix: string, depth: number): void => {
    if (depth > LIMITS.moduleDepth) throw new CheckpointError(`malformed checkpoint: pickled modules nest deeper than ${LIMITS.moduleDepth} levels`);
    if (path.has(m)) throw new CheckpointError(`malformed checkpoint: the pickled module ${prefix.slice(0, -1) || '(root)'} contains itself`);
    count();
    const d = instanceDict(m);
    if (!d) return;
    path.add(m);
    const nonPersistent = d.map.get('_non_persistent_buffers_set');
    const skip = new Set(Array.isArray(nonPersistent) ? nonPersistent.filter((x): x is string => typeof x === 'string') : []);
    for (const [field, persistent] of [['_parameters', () => true], ['_buffers', (k: string) => !skip.has(k)]] as const) {
      const tensors = d.map.get(field);
      if (!(tensors instanceof PyDict)) continue;
      for (const [k, v] of tensors.map) {
        if (typeof k !== 'string' || !isTensorRef(v) || !persistent(k)) continue;
        count();
        out.set(prefix + k, v);
      }
    }
    const children = d.map.get('_modules');
    if (children instanceof PyDict)
      for (const [k, child] of children.map) if (typeof k === 'string' && child instanceof PyObject) visit(child, `${prefix}${k}.`, depth + 1);
    path.delete(m);
  };
  visit(root, '', 0);
  return out;
}
