/** A user-facing CLI failure: printed as one line, exit code 2, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    public exitCode = 2,
  ) {
    super(message);
  }
}
