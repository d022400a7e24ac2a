// src/text/python-round.ts against CPython's round(): random floats of many magnitudes, exact
// decimal ties (where Python goes to the even neighbour and toFixed does not), negatives and
// zeros, for 0–6 digits and for round(x) without digits.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { pyRound } from "../../src/text/python-round.ts";
import { seededRandom } from "../../src/util/random.ts";

const PYTHON = process.env["KIELO_PYTHON"] ?? fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
const PEER = `
import json, sys
values = [float(x) for x in json.load(sys.stdin)]
print(json.dumps({"digits": [[round(x, n) for n in range(7)] for x in values], "whole": [round(x) for x in values]}))
`;

function values(): number[] {
  const random = seededRandom(7);
  const out = [0, -0, 0.5, 1.5, 2.5, -0.5, -2.5, 0.0625, 0.1875, 0.3125, -0.0625, 0.125, 0.375, 2.675, 1.0005, 0.00005, 1e-20, 5e-324, 4503599627370495.5, 2 ** 53 + 2];
  // Exact ties at 1–6 decimals: odd multiples of 5·10^-(n+1) that are binary fractions.
  for (let k = 1; k < 64; k += 2) out.push(k / 16, k / 32, k / 64, -k / 128, k / 1024, k / 2 ** 20);
  for (let i = 0; i < 2000; i++) {
    const magnitude = 10 ** (random.int(12) - 8);
    out.push((random.next() - 0.5) * magnitude);
  }
  return out;
}

describe("pyRound", () => {
  it("equals CPython's round(x, n) and round(x) on 2,200 floats", () => {
    const xs = values();
    // Sent as strings (JSON has no -0); String() gives the shortest form that reads back the same float.
    const run = spawnSync(PYTHON, ["-c", PEER], { input: JSON.stringify(xs.map((x) => (Object.is(x, -0) ? "-0" : String(x)))), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.equal(run.status, 0, run.stderr);
    const peer = JSON.parse(run.stdout) as { digits: number[][]; whole: number[] };
    const diff: string[] = [];
    xs.forEach((x, i) => {
      for (let n = 0; n < 7; n++) if (!Object.is(pyRound(x, n), peer.digits[i]![n])) diff.push(`round(${x}, ${n}): ${pyRound(x, n)} ≠ ${peer.digits[i]![n]}`);
      if (pyRound(x) !== peer.whole[i]) diff.push(`round(${x}): ${pyRound(x)} ≠ ${peer.whole[i]}`);
    });
    assert.deepEqual(diff.slice(0, 10), [], `${diff.length} differ`);
  });

  it("rounds exact ties to even where toFixed rounds them away from zero", () => {
    assert.equal(pyRound(0.0625, 3), 0.062);
    assert.equal((0.0625).toFixed(3), "0.063");
    assert.equal(pyRound(0.1875, 3), 0.188);
    assert.ok(Object.is(pyRound(-0.0001, 3), -0));
    assert.throws(() => pyRound(1, 21), RangeError);
  });
});
