/**
 * What an IFEval instruction is once built: a schema for its arguments (the prompt file's
 * `kwargs` entry) and a pure check of one response.
 */
import { z } from "zod";

/** `check_following(value)`: does this (already chosen) response variant follow the instruction? */
export type Check = (response: string) => boolean;

export interface InstructionDefinition {
  /** The kwargs this instruction takes, validated as the newest reference does: invalid → error. */
  readonly args: z.ZodType;
  /** `build_description(**kwargs)` followed by `check_following`, as a closure. */
  build(args: unknown): Check;
}

/** Type-safe constructor: `build` receives exactly what `args` parsed. */
export function defineInstruction<S extends z.ZodType>(args: S, build: (a: z.infer<S>) => Check): InstructionDefinition {
  return { args, build: (a) => build(a as z.infer<S>) };
}

/** The two comparison relations of the reference (`_COMPARISON_RELATION`). */
export const Relation = z.enum(["less than", "at least"]);
export type Relation = z.infer<typeof Relation>;

/** A count argument: a non-negative integer. (Old code drew a random one for None or < 0.) */
export const Count = z.number().int().nonnegative();

/** No arguments at all: Python raises TypeError on an unexpected keyword. */
export const NoArgs = z.strictObject({});

/** `n < threshold` for "less than", `n >= threshold` for "at least". */
export function compare(n: number, relation: Relation, threshold: number): boolean {
  return relation === "less than" ? n < threshold : n >= threshold;
}

/** A string argument that the reference `.strip()`s (and must then still be usable). */
export const NonEmptyString = z.string().min(1);
