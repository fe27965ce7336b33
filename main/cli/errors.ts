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
