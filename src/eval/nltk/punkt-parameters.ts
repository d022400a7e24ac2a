// Punkt parameters (nltk 3.9.1 `PunktParameters`) and the loader for NLTK's `punkt_tab`
// layout (`load_punkt_params` with `nltk.tabdata.PunktDecoder`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, KieloError } from "../../util/errors.ts";
import { pyStrip } from "../../text/python-str.ts";

/** What `PunktSentenceTokenizer` reads from its parameters. */
export interface PunktParameters {
  /** Abbreviation types: lowercase, without the final period (`u.s`, `mr`). */
  readonly abbrevTypes: ReadonlySet<string>;
  /** Collocations (word1 → the set of word2), word types as in `PunktToken.type`. */
  readonly collocations: ReadonlyMap<string, ReadonlySet<string>>;
  /** Frequent sentence starters (lowercase word types). */
  readonly sentStarters: ReadonlySet<string>;
  /** Orthographic-context bit set per word type; a missing type counts as 0. */
  readonly orthoContext: ReadonlyMap<string, number>;
}

/** Is `(first, second)` a known collocation? */
export function isCollocation(params: PunktParameters, first: string, second: string): boolean {
  return params.collocations.get(first)?.has(second) ?? false;
}

/** `ortho_context[typ]` of the defaultdict(int). */
export function orthoContextOf(params: PunktParameters, typ: string): number {
  return params.orthoContext.get(typ) ?? 0;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The lines of a file as Python's text-mode iteration + `rm_nl` yields them: universal
 * newlines (`\r\n` and `\r` become `\n`), split after each `\n`, one trailing `\n` removed
 * from each line. An empty file has no lines; a final line without `\n` is kept.
 */
function readPythonLines(path: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new KieloError(`cannot read Punkt parameter file ${path}`, {
      cause,
      hint: "expected NLTK's punkt_tab layout: abbrev_types.txt, collocations.tab, sent_starters.txt, ortho_context.tab",
    });
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new KieloError(`${path}: not valid UTF-8`, { cause });
  }
  text = text.replace(/\r\n?/g, "\n");
  if (text === "") return [];
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  return lines;
}

/** Python `int(s)` on a decimal literal (the only form the published files use). */
function parseInteger(raw: string, path: string, line: number): number {
  const s = pyStrip(raw);
  if (!/^[+-]?[0-9]+$/.test(s)) {
    throw new InputError({ file: path, line, field: "column 2" }, `expected an integer, got ${JSON.stringify(raw)}`);
  }
  return Number.parseInt(s, 10);
}

/**
 * Loads the four files of a `punkt_tab/<language>/` folder exactly as nltk 3.9.1
 * `load_punkt_params` does:
 * - `abbrev_types.txt`, `sent_starters.txt`: a set of lines (`txt2set`);
 * - `collocations.tab`: `tuple(line.split("\t"))` per line (`tab2tups`); only pairs can ever
 *   equal the `(typ, next_typ)` looked up, so lines with another field count are kept by nltk
 *   but never match — they are skipped here for the same result;
 * - `ortho_context.tab`: `{a: int(b)}` (`tab2intdict`); a line without exactly two fields or
 *   with a non-integer second field is an error (a ValueError in nltk).
 */
export function loadPunktParameters(folder: string): PunktParameters {
  const abbrevTypes = new Set(readPythonLines(join(folder, "abbrev_types.txt")));
  const sentStarters = new Set(readPythonLines(join(folder, "sent_starters.txt")));

  const collocations = new Map<string, Set<string>>();
  for (const line of readPythonLines(join(folder, "collocations.tab"))) {
    const fields = line.split("\t");
    if (fields.length !== 2) continue;
    const [first, second] = fields as [string, string];
    let seconds = collocations.get(first);
    if (seconds === undefined) collocations.set(first, (seconds = new Set()));
    seconds.add(second);
  }

  const orthoPath = join(folder, "ortho_context.tab");
  const orthoContext = new Map<string, number>();
  readPythonLines(orthoPath).forEach((line, index) => {
    const fields = line.split("\t");
    if (fields.length !== 2) {
      throw new InputError(
        { file: orthoPath, line: index + 1 },
        `expected "type<TAB>integer", got ${fields.length} tab-separated field(s)`,
      );
    }
    const [typ, value] = fields as [string, string];
    orthoContext.set(typ, parseInteger(value, orthoPath, index + 1));
  });

  return { abbrevTypes, collocations, sentStarters, orthoContext };
}
