/** `kielo data …`: convert source datasets to kielo records, compile them, inspect the result. */
import type { Command } from "commander";
import { registerDataConvert } from "./data-convert.ts";
import { registerDataCompile } from "./data-compile.ts";
import { registerDataInspect } from "./data-inspect.ts";
import { registerDataQaFromDocs } from "./data-qa-from-docs.ts";

export function registerData(program: Command): void {
  const data = program
    .command("data")
    .description("convert datasets to kielo records, compile them to training tokens, inspect the result");
  // Subcommands register here, one line each.
  registerDataConvert(data);
  registerDataCompile(data);
  registerDataInspect(data);
  registerDataQaFromDocs(data);
  void data;
}
