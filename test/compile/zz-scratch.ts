import { Command } from "commander";
import { registerDataCompile } from "../../src/cli/commands/data-compile.ts";
import { registerDataInspect } from "../../src/cli/commands/data-inspect.ts";
const program = new Command("kielo");
const data = program.command("data");
registerDataCompile(data);
registerDataInspect(data);
await program.parseAsync(process.argv);
