import { describe, expect, it } from 'vitest';
import { PythonRandom } from '../src/index.js';
import { fixture } from './fixture.js';

describe('PythonRandom: protocol §2.2 test vectors', () => {
  it.each([
    [0, [3626764237, 1654615998, 3255389356]],
    [1, [577090037, 2444712010, 3639700191]],
    [2, [4106135923, 3707026329, 4070888059]],
  ])('first three getrandbits(32) after seed %i', (seed, expected) => {
    const r = new PythonRandom(seed);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual(expected);
  });

  it.each([
    [0, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]],
    [1, [6, 8, 9, 7, 5, 3, 0, 4, 1, 2]],
  ])('shuffle of [0..9] with seed %i', (seed, expected) => {
    const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    new PythonRandom(seed).shuffle(x);
    expect(x).toEqual(expected);
    const typed = Int32Array.from({ length: 10 }, (_, i) => i);
    new PythonRandom(seed).shuffle(typed);
    expect(Array.from(typed)).toEqual(expected);
  });
});

describe('PythonRandom against CPython (fixture)', () => {
  // Seeds >= 2^32 exercise init_by_array with several key words; >= 2^53 need a bigint.
  it.each(fixture.random.map((r) => [String(r.seed), r] as const))(
    'seed %s: getrandbits, random(), randrange',
    (_, r) => {
      const seed = typeof r.seed === 'string' ? BigInt(r.seed) : r.seed;
      const a = new PythonRandom(seed);
      expect([a.getrandbits(32), a.getrandbits(32), a.getrandbits(32)]).toEqual(r.getrandbits32);
      expect(a.getrandbits(1)).toBe(r.getrandbits1);
      expect(a.getrandbits(53)).toBe(r.getrandbits53);
      expect(a.getrandbitsBig(64)).toBe(BigInt(r.getrandbits64));
      expect(a.getrandbitsBig(100)).toBe(BigInt(r.getrandbits100));
      expect([a.random(), a.random(), a.random()]).toEqual(r.random);
      expect([1, 2, 3, 67, 1000, 2 ** 31 + 1, 2 ** 32, 2 ** 53 - 1].map((n) => a.randbelow(n))).toEqual(r.randbelow);
    },
  );

  it('a number seed and the same bigint seed give the same stream; seed() re-seeds', () => {
    const a = new PythonRandom(2 ** 40 + 5);
    const b = new PythonRandom(BigInt(2 ** 40 + 5));
    expect([a.getrandbits(32), a.random()]).toEqual([b.getrandbits(32), b.random()]);
    a.seed(0);
    expect(a.getrandbits(32)).toBe(3626764237);
  });

  it('getrandbits(k ≤ 53) equals getrandbitsBig(k) on the same stream', () => {
    for (const k of [0, 1, 31, 32, 33, 53]) {
      expect(BigInt(new PythonRandom(9).getrandbits(k))).toBe(new PythonRandom(9).getrandbitsBig(k));
    }
  });

  it('rejects bad seeds and arguments with RangeError', () => {
    expect(() => new PythonRandom(-1)).toThrow(RangeError);
    expect(() => new PythonRandom(1.5)).toThrow(RangeError);
    expect(() => new PythonRandom(2 ** 53)).toThrow(RangeError);
    expect(() => new PythonRandom(-1n)).toThrow(RangeError);
    const r = new PythonRandom(0);
    expect(() => r.getrandbits(54)).toThrow(/getrandbitsBig/);
    expect(() => r.getrandbitsBig(-1)).toThrow(RangeError);
    expect(() => r.randbelow(0)).toThrow(RangeError);
    expect(() => r.randbelow(2 ** 53)).toThrow(RangeError);
  });
});
