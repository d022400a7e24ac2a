/**
 * Errors that reach the user.
 *
 * A `KieloError` is a mistake in the user's input or environment. The CLI prints its message
 * (and hint) without a stack trace and exits with code 1. Anything else is a bug in kielo and is
 * printed with its stack.
 *
 * Messages name where the problem is (file, line or row, field) and what was expected.
 */
export class KieloError extends Error {
  readonly hint: string | undefined;
  /** The process's exit status for this error (default 1). */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KieloError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Stopped by a signal (Ctrl-C, a scheduler's SIGTERM): exit 130 or 143, as a shell reports it. */
export function interrupted(signal: "SIGINT" | "SIGTERM", what: string, hint?: string): KieloError {
  return new KieloError(`${what} stopped by ${signal === "SIGINT" ? "Ctrl-C (SIGINT)" : "SIGTERM"}`, {
    exitCode: signal === "SIGINT" ? 130 : 143,
    ...(hint ? { hint } : {}),
  });
}

/** A location inside an input file, for error messages: `data.jsonl:12` or `data.csv row 12`. */
export interface SourceLocation {
  file: string;
  /** 1-based line (JSONL) or row (CSV, Parquet, JSON array element) number. */
  line?: number;
  /** Field path inside the record, e.g. `messages[2].content`. */
  field?: string;
}

export function formatLocation(loc: SourceLocation): string {
  let out = loc.file;
  if (loc.line !== undefined) out += `:${loc.line}`;
  if (loc.field !== undefined) out += ` (field ${loc.field})`;
  return out;
}

/** An error in one input record: `file:line (field f): message`. */
export class InputError extends KieloError {
  readonly location: SourceLocation;

  constructor(location: SourceLocation, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`${formatLocation(location)}: ${message}`, options);
    this.name = "InputError";
    this.location = location;
  }
}

/** What the operating system's error codes mean, in the words of an error message. */
const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EISDIR: "it is a folder, not a file",
  ENOTDIR: "a part of the path is a file, not a folder",
  ENOENT: "no such file or folder",
  EEXIST: "it already exists",
  ENOTEMPTY: "the folder is not empty",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the name is too long",
  EBUSY: "it is busy",
  EXDEV: "it is on another file system",
};

export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return error instanceof Error && typeof code === "string" && Object.hasOwn(SYSTEM_ERRORS, code);
}

/**
 * A failed file operation as a user's error: `cannot write out.jsonl: permission denied`. `path`
 * names the file the user asked for (not a temporary sibling of it); default: the error's own path.
 */
export function systemError(error: NodeJS.ErrnoException, options: { action?: string; path?: string } = {}): KieloError {
  const path = options.path ?? error.path ?? String((error as { dest?: unknown }).dest ?? "");
  const action = options.action ?? verbOf(error.syscall);
  const reason = SYSTEM_ERRORS[error.code ?? ""] ?? error.message;
  const hint =
    error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS"
      ? "Choose a location you may write to (--out), or change the folder's permissions."
      : error.code === "ENOSPC" || error.code === "EDQUOT"
        ? "Free some space or write elsewhere."
        : undefined;
  return new KieloError(`cannot ${action} ${path}: ${reason}`, { cause: error, ...(hint ? { hint } : {}) });
}

function verbOf(syscall: string | undefined): string {
  switch (syscall) {
    case "open":
      return "open";
    case "read":
    case "scandir":
    case "stat":
    case "lstat":
      return "read";
    case "mkdir":
      return "create the folder";
    case "rename":
      return "move into place";
    case "unlink":
    case "rmdir":
    case "rm":
      return "remove";
    default:
      return "write";
  }
}
