/** Tests read kielo.db as another process would: a read-only connection per query, closed at once. */
import { DatabaseSync } from "node:sqlite";

export function storeQuery(dbPath: string) {
  return function query<T>(sql: string, ...params: (string | number)[]): T[] {
    const db = new DatabaseSync(dbPath, { readOnly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  };
}
