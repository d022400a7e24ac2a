/**
 * The workspace store: one SQLite file (`kielo.db`) per workspace, through `node:sqlite`.
 *
 * Schema changes are numbered migrations applied in order inside a transaction; `PRAGMA
 * user_version` records how far a file has been migrated, so an old `kielo.db` is upgraded in
 * place and a newer one is refused with a clear message.
 */
import { existsSync, mkdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { dirname, resolve } from "node:path";
import { KieloError } from "../util/errors.ts";
import { MIGRATIONS } from "./migrations.ts";

export type Store = DatabaseSync;

/** Default location: `$KIELO_DB`, else `kielo.db` in the current directory. */
export function defaultStorePath(): string {
  return resolve(process.env["KIELO_DB"] ?? "kielo.db");
}

export function openStore(path: string = defaultStorePath()): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  // The timeout first: switching a new file to WAL takes a lock that parallel kielo processes
  // (a study's steps) would otherwise meet as "database is locked".
  db.exec("PRAGMA busy_timeout = 5000");
  // WAL lets a reader (kielo report) look at a run while another process writes to it.
  if (path !== ":memory:") useWal(db);
  db.exec("PRAGMA foreign_keys = ON");
  migrate(db, path);
  return db;
}

/**
 * A read-only connection (for `kielo serve`), after bringing an older file's schema up to date as
 * every command does. A missing file is an error: there is nothing to show.
 */
export function openStoreReadOnly(path: string): Store {
  if (!existsSync(path)) {
    throw new KieloError(`${path} does not exist`, { hint: "Pass --db <kielo.db>, or set KIELO_DB; kielo writes kielo.db in the folder where you run it." });
  }
  openStore(path).close();
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

/**
 * Switches the file to WAL (a setting the file keeps). SQLite answers "database is locked" at once,
 * without waiting for busy_timeout, when another connection is switching the same new file at
 * the same moment, so retry for a while.
 */
function useWal(db: DatabaseSync): void {
  const mode = () => (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  for (let attempt = 0; ; attempt++) {
    try {
      if (mode() === "wal") return;
      db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if (attempt >= 100 || !/database is locked/.test(String(error))) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // sleep 50 ms, synchronously
    }
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const version = () => (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (version() === MIGRATIONS.length) return;
  // IMMEDIATE takes the write lock first (waiting up to busy_timeout) and the version is read again
  // under it: kielo processes started together on a new kielo.db (a study's parallel steps) would
  // otherwise both read version 0 and the second would fail on "table runs already exists".
  db.exec("BEGIN IMMEDIATE");
  try {
    const current = version();
    if (current > MIGRATIONS.length) {
      throw new KieloError(
        `${path} was written by a newer kielo (schema ${current}, this kielo knows ${MIGRATIONS.length}).`,
        { hint: "Upgrade kielo, or point KIELO_DB at another file." },
      );
    }
    for (let next = current; next < MIGRATIONS.length; next++) {
      db.exec(MIGRATIONS[next]!);
      db.exec(`PRAGMA user_version = ${next + 1}`);
    }
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** Run `fn` inside a transaction. */
export function transaction<T>(db: Store, fn: () => T): T {
  db.exec("BEGIN");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
