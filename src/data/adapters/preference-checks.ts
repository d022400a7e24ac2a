/**
 * Checks shared by the preference adapters: a pair needs a prompt ending in a user turn, two
 * non-empty replies, and the replies must differ (an identical pair teaches DPO nothing).
 * Returns the drop reason, or undefined when the pair is usable.
 */
import type { Message } from "../records.ts";

export function preferenceDropReason(prompt: readonly Message[], chosen: string, rejected: string): string | undefined {
  if (chosen === "" || rejected === "") return "empty-reply";
  if (chosen === rejected) return "identical";
  if (prompt.length === 0 || prompt[prompt.length - 1]!.role !== "user") return "prompt-not-ending-in-user-turn";
  if (prompt.some((message) => message.content === "")) return "empty-turn";
  return undefined;
}

export function sameMessage(a: Message, b: Message): boolean {
  return a.role === b.role && a.content === b.content;
}

/** Length of the longest common prefix of two message lists. */
export function sharedPrefixLength(a: readonly Message[], b: readonly Message[]): number {
  let k = 0;
  while (k < a.length && k < b.length && sameMessage(a[k]!, b[k]!)) k++;
  return k;
}
