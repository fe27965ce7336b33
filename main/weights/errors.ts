/**
 * A checkpoint that cannot be read: the message is one line, written for the user (what is wrong and what
 * to do), never a stack trace. The CLI prints it as is; the app shows it in the import dialog.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}
