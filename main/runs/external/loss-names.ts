/**
 * Framework loss names → the app's loss term ids. fast-reid's loss_dict keys come from the term table
 * (core/training/losses.ts `fastreid.lossDict`: fastreid/modeling/meta_arch/baseline.py `losses()`).
 */
import { LOSS_TERMS, type LossTermId } from '../../../core/index.js';

export function lossTermByFastreidDictKey(key: string): LossTermId | undefined {
  return LOSS_TERMS.find((t) => t.fastreid?.lossDict === key)?.id;
}
