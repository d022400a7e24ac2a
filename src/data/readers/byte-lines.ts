/**
 * Lines of a byte stream as bytes (without the `\n`, and without a `\r` before it), so that each
 * line can be checked as UTF-8 before it is decoded. A line longer than one chunk is assembled once
 * (no repeated concatenation), so a 50 MB line costs its own size, not its square.
 */
import type { Readable } from "node:stream";

export async function* byteLines(stream: Readable): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
      parts = [];
      yield line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
      start = nl + 1;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  }
  if (parts.length > 0) {
    const line = Buffer.concat(parts);
    yield line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
  }
}
