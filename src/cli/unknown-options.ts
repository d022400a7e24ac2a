/**
 * Unknown options before missing ones: `kielo data convert x --format dolly --outt y.jsonl` should say
 * "unknown option '--outt' (Did you mean --out?)", not "required option '--out' not specified".
 *
 * Commander checks required options before unknown ones (Command#_parseCommand). This moves the
 * required-option check of every command behind commander's unknown-option check, into a
 * `preAction` hook (which runs after it). It relies on commander's `_checkForMissingMandatoryOptions`;
 * test/cli/options.test.ts fails if an upgrade renames it.
 */
import type { Command } from "commander";

type MandatoryCheck = (this: Command) => void;

export function checkUnknownOptionsFirst(program: Command): void {
  const check = (program as unknown as { _checkForMissingMandatoryOptions?: MandatoryCheck })._checkForMissingMandatoryOptions;
  if (typeof check !== "function") return;
  const deferAll = (command: Command): void => {
    (command as unknown as { _checkForMissingMandatoryOptions: MandatoryCheck })._checkForMissingMandatoryOptions = () => {};
    for (const sub of command.commands) deferAll(sub);
  };
  deferAll(program);
  program.hook("preAction", (_program, action) => {
    // Every command from the action up to the program, as commander checks them.
    for (let command: Command | null = action; command !== null; command = command.parent) check.call(command);
  });
}
