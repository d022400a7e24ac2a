/**
 * stdout and stderr closed under kielo (`kielo … | head -1`): stop quietly instead of crashing on
 * EPIPE. Node ignores SIGPIPE, so a closed pipe surfaces as an 'error' event on the stream, which
 * unhandled prints a stack trace.
 *
 * Exit status: what the command already decided when it had finished (e.g. 0 after `--help`), else
 * 141 (128 + SIGPIPE), what a shell reports for a program killed by a closed pipe — so that
 * `set -o pipefail` scripts see that the command did not run to its end. The exit handlers run, so
 * temporary outputs are removed.
 */
export interface PipeGuard {
  /** Call when the command has finished: a closed pipe after this keeps the command's own status. */
  finished(): void;
}

export const SIGPIPE_STATUS = 141;

export function guardPipes(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): PipeGuard {
  let done = false;
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== "EPIPE") throw error;
    // Nothing more can be written to this stream; writes still queued would fail the same way.
    for (const stream of streams) stream.removeListener("error", onError);
    for (const stream of streams) stream.on("error", () => {});
    const status = process.exitCode;
    process.exit(done ? (typeof status === "number" ? status : status === undefined ? 0 : Number(status)) : SIGPIPE_STATUS);
  };
  for (const stream of streams) stream.on("error", onError);
  return {
    finished() {
      done = true;
    },
  };
}
