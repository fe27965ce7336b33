/**
 * Exit codes and a process exit that never cuts output.
 *
 * `process.exit()` ends the process at once; when stdout is a pipe, whatever Node still holds in the
 * stream's buffer (everything past the kernel's 64 KiB pipe buffer) is lost, so `summary --json | jq`
 * saw truncated JSON. Every exit of the CLI goes through `exitAfterDrain`, which waits until stdout and
 * stderr have handed all pending writes to the OS.
 */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** A bug of ours ("internal error"). */
  internal: 1,
  /** Bad input: flags, files, data, configs (one-line message on stderr). */
  user: 2,
  /** Interrupted by Ctrl-C / SIGINT (128 + signal 2, as shells report it). */
  interrupted: 130,
} as const;

type Drainable = Pick<NodeJS.WriteStream, 'write' | 'writableLength' | 'destroyed' | 'writable'>;

/** Resolves once every write queued on `stream` so far has been handed to the OS (or the stream died). */
export function drained(stream: Drainable): Promise<void> {
  if (stream.destroyed || !stream.writable || stream.writableLength === 0) return Promise.resolve();
  // Writes complete in order: the callback of an empty write runs after all earlier ones.
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

let installed = false;

/**
 * A reader that goes away (`reid-studio summary --json | head -c 10`) is not an error of ours: EPIPE on
 * stdout / stderr ends the process quietly with the exit code decided so far.
 */
export function quietOnBrokenPipe(): void {
  if (installed) return;
  installed = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      // Any other failed write (a full disk: `> /dev/full`, an I/O error) loses output: never exit 0 then.
      if (s === process.stdout) outputError ??= e;
    });
  }
}

/** The first write to stdout that failed (other than a reader going away), if any. */
let outputError: NodeJS.ErrnoException | null = null;

/**
 * Ends the process with `code` after stdout and stderr have drained. A write to stdout that failed turns a
 * success into exit 2 with one line on stderr: the output the user asked for was lost.
 */
export async function exitAfterDrain(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // A file's write error (SyncWriteStream) is emitted on the next tick.
  await new Promise((r) => setImmediate(r));
  if (outputError && code === EXIT.ok) {
    code = EXIT.user;
    const reason = outputError.code === 'ENOSPC' ? 'no space left on the device' : outputError.message.split('\n')[0];
    process.stderr.write(`reid-studio: error: cannot write the output to standard output: ${reason} (${outputError.code ?? 'EIO'})\n`);
    await drained(process.stderr);
  }
  process.exit(code);
}
