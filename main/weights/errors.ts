/**
 * A checkpoint that cannot be read: the message is one line, written for the user (what is wrong and what
 * to do), never a stack trace. The CLI prints it as is; the app shows it in the import dialog.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Pretrained weights that hold NaN / ±Inf in tensors the graph would load: a user error (the file), refused
 * before training starts. `code` is the API error code the service answers with.
 */
export class NonFiniteWeightsError extends CheckpointError {
  override name = 'NonFiniteWeightsError';
  readonly code = 'E_NONFINITE_WEIGHTS';
}
