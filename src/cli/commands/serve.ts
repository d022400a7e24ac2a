/** `kielo serve`: the read-only dashboard over kielo.db (src/serve/server.ts, docs/runs.md). */
import { resolve } from "node:path";
import type { Command } from "commander";
import { startServer } from "../../serve/server.ts";
import { defaultStorePath } from "../../store/db.ts";
import { KieloError } from "../../util/errors.ts";
import { numberArg } from "../options.ts";

interface ServeFlags {
  db?: string;
  host: string;
  port: number;
  reports?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("a read-only web dashboard of kielo.db: runs, curves, IFEval tables, answers, study reports")
    .option("--db <file>", "the kielo.db to show (default: KIELO_DB, else ./kielo.db)")
    .option("--host <address>", "address to listen on (anything but loopback makes the dashboard visible to the network)", "127.0.0.1")
    .option("--port <n>", "port (0: any free port)", numberArg("--port", { integer: true, min: 0, max: 65535 }), 8787)
    .option("--reports <dir>", "a folder of study reports (one HTML folder each) or of study work dirs (e.g. study-runs/), served under /reports/")
    .action(async (flags: ServeFlags) => {
      const db = flags.db === undefined ? defaultStorePath() : resolve(flags.db);
      const server = await startServer({ db, host: flags.host, port: flags.port, ...(flags.reports === undefined ? {} : { reports: flags.reports }) }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") throw new KieloError(`port ${flags.port} on ${flags.host} is in use`, { hint: "Pass another --port (or --port 0 for any free one)." });
        throw error;
      });
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : flags.port;
      const host = flags.host.includes(":") ? `[${flags.host}]` : flags.host;
      process.stdout.write(`kielo serve: http://${host}:${port}/ (${db}, read-only; Ctrl-C stops)\n`);
      // Ctrl-C ends the process (src/cli/main.ts); nothing to clean up, nothing written.
      await new Promise<void>((resolveClosed) => server.once("close", resolveClosed));
    });
}
