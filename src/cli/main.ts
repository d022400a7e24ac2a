/**
 * The `kielo` command line. Each command lives in `commands/<name>.ts` and exports a function that
 * adds itself to the program; this file only assembles them and turns errors into messages.
 */
import { Command, CommanderError } from "commander";
import { isSystemError, KieloError, systemError } from "../util/errors.ts";
import { kieloVersion } from "../util/version.ts";
import { guardPipes } from "./pipes.ts";
import { checkUnknownOptionsFirst } from "./unknown-options.ts";
import { registerData } from "./commands/data.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerTrain } from "./commands/train.ts";
import { registerMerge } from "./commands/merge.ts";
import { registerModel } from "./commands/model.ts";
import { registerGenerate } from "./commands/generate.ts";
import { registerEval } from "./commands/eval.ts";
import { registerMix } from "./commands/mix.ts";
import { registerTranslate } from "./commands/translate.ts";
import { registerClean } from "./commands/clean.ts";
import { registerTranslateIfeval } from "./commands/translate-ifeval.ts";
import { registerRuns } from "./commands/runs.ts";
import { registerServe } from "./commands/serve.ts";
import { registerStudy } from "./commands/study.ts";

const program = new Command("kielo")
  .description(
    "Post-train LLMs for languages with little data: convert, compile and mix data, translate and clean it, " +
      "fine-tune (SFT, LoRA, QLoRA, DPO), evaluate (IFEval, response language) and compare runs.",
  )
  .version(kieloVersion(), "-V, --version")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

// Commands register here, one line each.
registerData(program);
registerTrain(program);
registerMerge(program);
registerModel(program);
registerGenerate(program);
registerDoctor(program);
registerEval(program);
registerMix(program);
registerTranslate(program);
registerClean(program);
registerTranslateIfeval(program);
registerRuns(program);
registerServe(program);
registerStudy(program);
checkUnknownOptionsFirst(program);

// Ctrl-C: exit with the conventional code so that `exit` handlers remove temporary outputs.
// Commands that must react themselves (e.g. forwarding to the engine) install their own handler.
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

const pipes = guardPipes();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
pipes.finished();

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help text).
    return error.exitCode;
  }
  // A file operation the system refused (permissions, a full disk, a folder where a file should be)
  // is a problem of the user's environment, not a kielo bug.
  const userError = isSystemError(error) ? systemError(error) : error;
  if (userError instanceof KieloError) {
    process.stderr.write(`kielo: ${userError.message}\n`);
    if (userError.hint) process.stderr.write(`hint: ${userError.hint}\n`);
    return userError.exitCode;
  }
  process.stderr.write(`kielo: internal error (please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
  return 2;
}

