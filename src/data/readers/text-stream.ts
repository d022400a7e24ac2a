/**
 * Open a text file for streaming, gunzipping it on the fly when its name ends in `.gz`
 * (HH-RLHF and many dataset dumps ship as `.jsonl.gz`).
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { isSystemError, KieloError, systemError } from "../../util/errors.ts";

export function isGzipPath(path: string): boolean {
  return path.toLowerCase().endsWith(".gz");
}

/** A readable byte stream of the (decompressed) file; fails with a KieloError if it cannot be opened. */
export async function openTextStream(path: string): Promise<Readable> {
  const file = createReadStream(path);
  try {
    await new Promise<void>((resolve, reject) => {
      file.once("open", () => resolve());
      file.once("error", reject);
    });
  } catch (error) {
    throw isSystemError(error) ? systemError(error, { action: "read", path }) : new KieloError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (!isGzipPath(path)) return file;
  const gunzip = createGunzip();
  // A corrupt gzip stream is the user's file, not a kielo bug.
  file.on("error", (error) => gunzip.destroy(error));
  const stream = file.pipe(gunzip);
  return stream.on("error", () => file.destroy());
}

/** Turn a decompression or read failure into a KieloError naming the file. */
export function streamError(path: string, error: unknown): KieloError {
  if (error instanceof KieloError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR" ? "not a valid gzip file" : (error as Error).message;
  return new KieloError(`cannot read ${path}: ${detail}`);
}
