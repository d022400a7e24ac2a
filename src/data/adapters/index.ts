/** The registry of format adapters: `data convert --format <name>`. */
import { KieloError } from "../../util/errors.ts";
import { dolly } from "./dolly.ts";
import { helpsteer } from "./helpsteer.ts";
import { hhRlhf } from "./hh-rlhf.ts";
import { messages } from "./messages.ts";
import { oasst } from "./oasst.ts";
import { pairs } from "./pairs.ts";
import { qaContext } from "./qa-context.ts";
import type { FormatAdapter } from "./types.ts";

export type { AdapterContext, AdapterOptions, FormatAdapter } from "./types.ts";
export { Tally } from "./tally.ts";

export const ADAPTERS: readonly FormatAdapter[] = [oasst, dolly, qaContext, messages, hhRlhf, helpsteer, pairs];

export const ADAPTER_NAMES: readonly string[] = ADAPTERS.map((adapter) => adapter.name);

export function getAdapter(name: string): FormatAdapter {
  const adapter = ADAPTERS.find((candidate) => candidate.name === name);
  if (adapter === undefined) {
    throw new KieloError(`unknown data format "${name}"`, { hint: `Known formats: ${ADAPTER_NAMES.join(", ")}.` });
  }
  return adapter;
}
