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

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KieloError";
    this.hint = options.hint;
  }
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
