/**
 * Stable codes of a checkpoint the app cannot read. Hosts map them to user errors (never "internal error"):
 * - `E_MALFORMED_CHECKPOINT`: the bytes are damaged, truncated or inconsistent (negative lengths, views
 *   outside their storage, a zip entry past the end of the file, …), or not a checkpoint at all.
 * - `E_UNSUPPORTED_CHECKPOINT`: a well-formed file holding something the reader does not handle
 *   (quantized / sparse tensors, big-endian files, an unknown dtype).
 * - `E_CHECKPOINT_TOO_LARGE`: a declared size above the readers' caps (see `limits.ts`).
 * - `E_CHECKPOINT_IO`: the file cannot be read (missing, a folder, no permission).
 * - `E_NONFINITE_WEIGHTS`: readable, but tensors the graph would load hold NaN / ±Inf.
 */
export type CheckpointErrorCode = 'E_MALFORMED_CHECKPOINT' | 'E_UNSUPPORTED_CHECKPOINT' | 'E_CHECKPOINT_TOO_LARGE' | 'E_CHECKPOINT_IO' | 'E_NONFINITE_WEIGHTS';

/**
 * A checkpoint that cannot be read: the message is one line, written for the user (what is wrong and what
 * to do), never a stack trace and never the file's contents. The CLI prints it as is; the app shows it in
 * the import dialog.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    message: string,
    public readonly code: CheckpointErrorCode = 'E_MALFORMED_CHECKPOINT',
  ) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Pretrained weights that hold NaN / ±Inf in tensors the graph would load: a user error (the file), refused
 * before training starts. `code` is the API error code the service answers with.
 */
export class NonFiniteWeightsError extends CheckpointError {
  override name = 'NonFiniteWeightsError';
  constructor(message: string) {
    super(message, 'E_NONFINITE_WEIGHTS');
  }
}
