/** `kielo data …`: convert source datasets to kielo records, compile them, inspect the result. */
import type { Command } from "commander";

export function registerData(program: Command): void {
  const data = program
    .command("data")
    .description("convert datasets to kielo records, compile them to training tokens, inspect the result");
  // Subcommands register here, one line each.
  void data;
}
