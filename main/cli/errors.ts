/** A user-facing CLI failure: printed as one line, exit code 2, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    public exitCode = 2,
  ) {
    super(message);
  }
}

/** Ctrl-C ended a command early (after checkpointing where there is something to keep): exit code 130. */
export class Interrupted extends Error {}

/** The CLI's error code for a file error (main/io/files.ts FileError.code): E_DISK_FULL for a full disk, else E_IO. */
export function fileErrorCliCode(code: string): 'E_DISK_FULL' | 'E_IO' {
  return code === 'ENOSPC' ? 'E_DISK_FULL' : 'E_IO';
}
