/**
 * An exact port of CPython's `random` module (MT19937 with `init_by_array` seeding), so that the
 * reference's `random.seed(seed); random.shuffle(pairs)` split is reproduced bit for bit (protocol §2.2);
 * a generic shuffle or a different seeding gives a different split. Checked against CPython 3.11
 * (the algorithms are unchanged since 3.7, the version the reference targets).
 * All state arithmetic is unsigned 32-bit (`Math.imul`, `>>> 0`).
 */
export class PythonRandom {
  private readonly mt = new Uint32Array(624);
  private index = 625;

  /**
   * Same as `random.Random(seed)`. A number must be a safe integer (0 ≤ seed < 2^53); a bigint may
   * be any non-negative size (CPython accepts arbitrary ints, which other code may use as stream keys).
   */
  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /**
   * Same as `random.seed(seed)` for a non-negative int: the seed is split into 32-bit little-endian
   * words (0 gives `[0]`) and fed to `init_by_array`. Negative seeds are rejected rather than
   * silently folded to |seed| as CPython does, so two different run seeds never share a stream.
   */
  seed(seed: number | bigint): void {
    let rest: bigint;
    if (typeof seed === 'bigint') {
      if (seed < 0n) throw new RangeError(`seed must be non-negative, got ${seed}`);
      rest = seed;
    } else {
      if (!Number.isSafeInteger(seed) || seed < 0)
        throw new RangeError(`seed must be a non-negative safe integer (< 2^53), got ${seed}`);
      rest = BigInt(seed);
    }
    const key: number[] = [];
    do {
      key.push(Number(rest & 0xffffffffn));
      rest >>= 32n;
    } while (rest > 0n);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000; // as CPython: guarantees a non-zero state
    this.index = 624; // force a twist on the next draw
  }

  /** `genrand_uint32`: the next tempered 32-bit output, in [0, 2^32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = (mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * `random.getrandbits(k)` for 0 ≤ k ≤ 53, as a number (exact: it fits a double). For k ≤ 32 it is
   * one draw shifted right; above, words are filled low to high and the last one keeps its top bits,
   * as CPython does. Use `getrandbitsBig` for k > 53.
   */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) {
      throw new RangeError(`getrandbits returns a number for 0..53 bits, got ${k} (use getrandbitsBig for more)`);
    }
    if (k === 0) return 0;
    if (k <= 32) return this.nextUint32() >>> (32 - k);
    const low = this.nextUint32();
    const high = this.nextUint32() >>> (64 - k);
    return high * 2 ** 32 + low;
  }

  /** `random.getrandbits(k)` for any k ≥ 0, as a bigint (same draws as CPython, words low to high). */
  getrandbitsBig(k: number): bigint {
    if (!Number.isSafeInteger(k) || k < 0)
      throw new RangeError(`getrandbits needs a non-negative integer bit count, got ${k}`);
    let result = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32) {
      const word = left < 32 ? this.nextUint32() >>> (32 - left) : this.nextUint32();
      result |= BigInt(word) << shift;
      shift += 32n;
    }
    return result;
  }

  /** `random.random()`: a float in [0, 1) from 27 + 26 bits of two draws, exactly as CPython. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * `random._randbelow(n)` (what `randrange(n)` and `shuffle` use): draw bit_length(n) bits until the
   * value is below n. 1 ≤ n < 2^53.
   */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`randbelow needs an integer in 1..2^53-1, got ${n}`);
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.shuffle(x)` in place: Fisher-Yates from the last element down, j = randbelow(i + 1). */
  shuffle<T>(x: T[] | Int32Array | Uint32Array | Float64Array | Float32Array | Uint8Array): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
  }
}

/** Python's int.bit_length for 1 ≤ n < 2^53. */
function bitLength(n: number): number {
  return n < 2 ** 32 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 2 ** 32));
}
