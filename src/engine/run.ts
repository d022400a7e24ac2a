/**
 * Launching the engine and following its events.
 *
 * The engine prints one JSON event per line on stdout (docs/formats.md §3); anything else it prints
 * (library warnings, tracebacks) goes to stderr, which is passed through and its tail kept for error
 * messages. Ctrl-C is forwarded once as SIGINT, so the engine finishes its step, checkpoints and
 * stops; a second Ctrl-C kills it.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { engineEnv, pythonNotFound, type PythonChoice } from "./python.ts";
import { parseLine, type DoneEvent, type EngineEvent, type ErrorEvent } from "./events.ts";
import { multiNodeCommand, multiNodeFromEnv, srunNotFound } from "./multinode.ts";

export interface EngineRunOptions {
  python: PythonChoice;
  /** Arguments after `python -m kielo_engine`, e.g. ["run", jobDir]. */
  args: string[];
  /** More than 1: start under torchrun with this many processes (one per GPU). */
  gpus?: number;
  onEvent?: (event: EngineEvent) => void;
  /** Lines the engine printed on stdout that are not events. */
  onOutput?: (line: string) => void;
  /** Pass the engine's stderr through to ours (default true). */
  passStderr?: boolean;
  /** Aborting kills the engine. */
  signal?: AbortSignal;
  /** More environment for the engine (e.g. KIELO_REPORT_TO). */
  env?: Record<string, string>;
}

export interface EngineRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  interrupted: boolean;
  /** The signal that interrupted kielo (and was forwarded to the engine), if any. */
  stoppedBy?: "SIGINT" | "SIGTERM";
  error?: ErrorEvent;
  done?: DoneEvent;
  stderrTail: string[];
}

export function engineCommand(python: PythonChoice, args: string[], gpus = 1): string[] {
  if (gpus > 1) {
    const multi = multiNodeFromEnv();
    if (multi) return multiNodeCommand(python.path, args, gpus, multi);
    return [python.path, "-m", "torch.distributed.run", "--standalone", `--nproc-per-node=${gpus}`, "-m", "kielo_engine", ...args];
  }
  return [python.path, "-m", "kielo_engine", ...args];
}

export async function runEngine(options: EngineRunOptions): Promise<EngineRunResult> {
  const [cmd, ...argv] = engineCommand(options.python, options.args, options.gpus);
  // Own process group: a terminal Ctrl-C reaches only kielo, which forwards it exactly once.
  const child = spawn(cmd!, argv, { env: engineEnv(options.env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  const result: EngineRunResult = { exitCode: null, signal: null, interrupted: false, stderrTail: [] };

  // Ctrl-C, and SIGTERM (a scheduler ending the job), are forwarded once: the engine finishes its
  // step, writes a checkpoint and stops. A second one kills it.
  let interrupts = 0;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => () => {
    interrupts += 1;
    result.interrupted = true;
    result.stoppedBy ??= signal;
    if (interrupts === 1) {
      process.stderr.write(`\nkielo: stopping (${signal}) — the engine finishes its step and writes a checkpoint (Ctrl-C again to kill it)\n`);
      signalGroup(signal);
    } else {
      signalGroup("SIGKILL");
    }
  };
  const onSigint = onSignal("SIGINT");
  const onSigterm = onSignal("SIGTERM");
  // The engine leads its own process group (torchrun workers included): signal all of it.
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => {
    if (child.exitCode === null) signalGroup("SIGKILL");
  };
  // While the engine runs, Ctrl-C and SIGTERM belong to it: set aside the CLI's exit handlers.
  const previous = process.listeners("SIGINT");
  const previousTerm = process.listeners("SIGTERM");
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  process.on("exit", killOnExit);
  const onAbort = () => signalGroup("SIGKILL");
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const stdout = createInterface({ input: child.stdout });
  stdout.on("line", (line) => {
    const parsed = parseLine(line);
    if (parsed.kind === "invalid") {
      process.stderr.write(`kielo: the engine sent a "${parsed.type}" event this kielo does not understand (${parsed.problem}); is the engine from another kielo version?\n`);
    }
    if (parsed.kind !== "event") {
      options.onOutput?.(line);
      return;
    }
    const event = parsed.event;
    if (event.type === "error") result.error = event;
    if (event.type === "done") result.done = event;
    options.onEvent?.(event);
  });
  const stderr = createInterface({ input: child.stderr });
  stderr.on("line", (line) => {
    result.stderrTail.push(line);
    if (result.stderrTail.length > 40) result.stderrTail.shift();
    if (options.passStderr !== false) process.stderr.write(`${line}\n`);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT" && cmd === "srun") reject(srunNotFound());
        else reject(error.code === "ENOENT" ? pythonNotFound(options.python, "no such program") : error);
      });
      child.once("close", (code, signal) => {
        result.exitCode = code;
        result.signal = signal;
        resolve();
      });
    });
  } finally {
    process.removeListener("SIGINT", onSigint);
    process.removeListener("SIGTERM", onSigterm);
    process.removeListener("exit", killOnExit);
    options.signal?.removeEventListener("abort", onAbort);
    for (const listener of previous) process.on("SIGINT", listener as () => void);
    for (const listener of previousTerm) process.on("SIGTERM", listener as () => void);
  }
  return result;
}
