/**
 * Seeds as PyTorch takes them: torch.manual_seed accepts integers in [-2^63, 2^64) (a negative
 * one stands for its two's complement, -1 for 2^64 - 1) and refuses others ("Overflow when
 * unpacking long"). yorick keeps a seed as a number, exact up to 2^53 in magnitude, and refuses
 * the rest of PyTorch's range rather than round it. PyTorch's CPU generator (mt19937) is seeded
 * with the low 32 bits, so seeds that agree there give the same stream (2^32 as 0): here too,
 * and seedNote says so instead of leaving it silent.
 */
import { UserError } from '../errors.js';

const TWO_64 = 2n ** 64n, TWO_63 = 2n ** 63n;

/** A seed from the command line or a config file, or a UserError naming `what` and the range. */
export function parseSeed(value: unknown, what: string): number {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new UserError(`${what} must be an integer, got ${value}`);
    n = BigInt(value);
  } else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
    n = BigInt(value.trim());
  } else {
    throw new UserError(`${what} must be an integer, got ${JSON.stringify(value)}`);
  }
  if (n < -TWO_63 || n >= TWO_64) throw new UserError(`${what} ${n} is outside PyTorch's seed range [-2^63, 2^64)`);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UserError(`${what} ${n} is within PyTorch's range but yorick keeps seeds exactly only up to 2^53 - 1 (${Number.MAX_SAFE_INTEGER}) in magnitude; use a smaller seed`);
  }
  return Number(n);
}

/** A note when the seed gives the same random stream as another, smaller one (as in PyTorch). */
export function seedNote(seed: number): string | null {
  if (seed >= 0 && seed < 2 ** 32) return null;
  const low = Number(BigInt.asUintN(32, BigInt(seed)));
  return `note: seed ${seed} gives the same random numbers as seed ${low}: as PyTorch's CPU generator, only its low 32 bits seed the stream`;
}
