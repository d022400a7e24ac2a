/**
 * Python's built-in `round()` on floats, for ports that must give Python's numbers.
 *
 * CPython rounds the *exact* binary value of the float, halves to the even neighbour
 * (`_Py_dg_dtoa` mode 3, then `_Py_dg_strtod` back to the nearest float). JavaScript has no
 * such function: `Math.round` sends halves up, and `toFixed` sends exact ties away from zero
 * (`round(0.0625, 3)` is 0.062 in Python, `(0.0625).toFixed(3)` is "0.063").
 */

/**
 * `round(x)` (no `ndigits`): the nearest integer, halves to the even one.
 * `round(x, ndigits)` (0 ≤ ndigits ≤ 20): the float nearest to x rounded half-even at
 * `ndigits` decimals, like CPython, sign kept (`round(-0.0001, 3)` is -0.0).
 */
export function pyRound(x: number, ndigits?: number): number {
  if (ndigits === undefined) return roundHalfEvenToInteger(x);
  if (!Number.isInteger(ndigits) || ndigits < 0 || ndigits > 20) throw new RangeError(`pyRound: ndigits ${ndigits} outside 0..20`);
  // Zero, infinities, NaN and floats of 2^53 and more are already round.
  if (!Number.isFinite(x) || x === 0 || Math.abs(x) >= 2 ** 53) return x;
  // toFixed(100) gives the exact decimal expansion of every float in [2^-47, 2^53) (a float m·2^-k
  // has k ≤ 99 decimals there); a smaller float is far from any tie at ≤ 20 decimals, so its
  // correctly rounded 100-digit string decides the same way.
  const [whole, fraction] = Math.abs(x).toFixed(100).split(".") as [string, string];
  const kept = BigInt(whole + fraction.slice(0, ndigits));
  const rest = fraction.slice(ndigits);
  const half = "5".padEnd(rest.length, "0");
  const up = rest > half || (rest === half && kept % 2n === 1n);
  const digits = (kept + (up ? 1n : 0n)).toString().padStart(ndigits + 1, "0");
  const magnitude = ndigits === 0 ? Number(digits) : Number(`${digits.slice(0, -ndigits)}.${digits.slice(-ndigits)}`);
  return x < 0 ? -magnitude : magnitude;
}

function roundHalfEvenToInteger(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
