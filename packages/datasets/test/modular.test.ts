import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DatasetError, PythonRandom, listModularOps, modularArithmetic, registerModularOp } from '../src/index.js';

const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/splits.json', import.meta.url), 'utf8')) as {
  p: number;
  splits: Array<{ seed: number; symmetric: boolean; train: number[]; test: number[] }>;
  random: Array<{ seed: number; getrandbits32: number[]; getrandbits53: number; random: number[]; randbelow: number[] }>;
  labels: Record<string, Record<string, number>>;
};

const pair = (s: { a: Int32Array; b: Int32Array }, i: number) => `(${s.a[i]},${s.b[i]})`;

describe('PythonRandom: spec §2.2 test vectors', () => {
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
  });

  it.each(fixture.random.map((r) => [r.seed, r] as const))('matches CPython random for seed %s (multi-word seeds, random(), randrange)', (seed, r) => {
    const a = new PythonRandom(seed);
    expect([a.getrandbits(32), a.getrandbits(32), a.getrandbits(32)]).toEqual(r.getrandbits32);
    expect(a.getrandbits(53)).toBe(r.getrandbits53);
    expect([a.random(), a.random(), a.random()]).toEqual(r.random);
    expect([1, 2, 3, 67, 1000, 2 ** 31 + 1].map((n) => a.randbelow(n))).toEqual(r.randbelow);
  });

  it('rejects bad seeds', () => {
    expect(() => new PythonRandom(-1)).toThrow(RangeError);
    expect(() => new PythonRandom(1.5)).toThrow(RangeError);
  });
});

describe('modular arithmetic: the reference split', () => {
  it.each([
    [0, '(38,65) (30,65) (5,57) (25,48) (22,65) (15,55) (2,2) (0,49)', '(21,27)', '(30,64)'],
    [1, '(19,60) (1,44) (4,34) (42,55) (0,35) (0,28) (47,62) (23,57)', '(42,57)', '(21,51)'],
    [2, '(39,65) (7,9) (11,32) (21,55) (21,61) (41,42) (18,62) (26,56)', '(7,29)', '(5,25)'],
  ])('symmetric p=67, seed %i: spec vectors', (seed, first8, lastTrain, firstTest) => {
    const d = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pair(d.train, i)).join(' ')).toBe(first8);
    expect(pair(d.train, d.train.size - 1)).toBe(lastTrain);
    expect(pair(d.test, 0)).toBe(firstTest);
  });

  it('all pairs p=67, seed 1: spec vectors', () => {
    const d = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 1, symmetric: false });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pair(d.train, i)).join(' ')).toBe('(0,47) (6,56) (63,42) (62,56) (65,49) (40,30) (5,26) (3,40)');
    expect(pair(d.train, d.train.size - 1)).toBe('(62,48)');
    expect(pair(d.test, 0)).toBe('(2,27)');
  });

  it.each(fixture.splits.map((s) => [s.seed, s.symmetric, s] as const))('every pair equals CPython random.shuffle (seed %i, symmetric %s)', (seed, symmetric, s) => {
    const d = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed, symmetric });
    const codes = (sp: { a: Int32Array; b: Int32Array; size: number }) => Array.from({ length: sp.size }, (_, i) => sp.a[i]! * 67 + sp.b[i]!);
    expect(codes(d.train)).toEqual(s.train);
    expect(codes(d.test)).toEqual(s.test);
  });

  it('sizes: 2278/911/1367 symmetric, 4489/1795/2694 all pairs', () => {
    const s = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0 });
    expect([s.train.size + s.test.size, s.train.size, s.test.size]).toEqual([2278, 911, 1367]);
    const a = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0, symmetric: false });
    expect([a.train.size + a.test.size, a.train.size, a.test.size]).toEqual([4489, 1795, 2694]);
    expect(s.numClasses).toBe(67);
  });

  it('labels of add, subtract, x2xyy2 (subtract(3,5) = 65, x2xyy2(2,3) = 19)', () => {
    expect(fixture.labels['3,5']!.subtract).toBe(65);
    expect(fixture.labels['2,3']!.x2xyy2).toBe(19);
    for (const op of ['add', 'subtract', 'x2xyy2']) {
      const d = modularArithmetic({ op, p: 67, trainFraction: 0.4, seed: 0, symmetric: false });
      const all = new Map<string, number>();
      for (const sp of [d.train, d.test]) for (let i = 0; i < sp.size; i++) all.set(`${sp.a[i]},${sp.b[i]}`, sp.labels[i]!);
      for (const [key, byOp] of Object.entries(fixture.labels)) expect(all.get(key), `${op}(${key})`).toBe(byOp[op]);
    }
  });

  it('rand: a seeded table, stored with the dataset, labels from it; split unchanged', () => {
    const a = modularArithmetic({ op: 'rand', p: 11, trainFraction: 0.5, seed: 4 });
    const b = modularArithmetic({ op: 'rand', p: 11, trainFraction: 0.5, seed: 4 });
    const c = modularArithmetic({ op: 'rand', p: 11, trainFraction: 0.5, seed: 5 });
    const add = modularArithmetic({ op: 'add', p: 11, trainFraction: 0.5, seed: 4 });
    expect(a.table).toHaveLength(121);
    expect(a.table).toEqual(b.table);
    expect(a.table).not.toEqual(c.table);
    expect(Array.from(a.table!).every((x) => x >= 0 && x < 11)).toBe(true);
    expect(new Set(a.table).size).toBeGreaterThan(5);
    expect(a.train.a).toEqual(add.train.a);
    for (let i = 0; i < a.train.size; i++) expect(a.train.labels[i]).toBe(a.table![a.train.a[i]! * 11 + a.train.b[i]!]);
  });

  it('the op registry accepts new ops', () => {
    registerModularOp({ name: 'mul-test', description: 'a·b mod p', label: (x, y, p) => (x * y) % p });
    expect(listModularOps()).toContain('mul-test');
    const d = modularArithmetic({ op: 'mul-test', p: 7, trainFraction: 0.5, seed: 0 });
    expect(d.train.labels[0]).toBe((d.train.a[0]! * d.train.b[0]!) % 7);
  });

  it.each([
    [{ op: 'divide' }, /unknown op "divide" \(known: add, subtract, x2xyy2, rand/],
    [{ p: 1 }, /modulus p must be an integer >= 2, got 1/],
    [{ p: 6.5 }, /modulus p must be an integer/],
    [{ trainFraction: 0 }, /strictly between 0 and 1, got 0/],
    [{ trainFraction: 1 }, /strictly between 0 and 1, got 1/],
    [{ trainFraction: Number.NaN }, /strictly between 0 and 1/],
    [{ p: 2, trainFraction: 0.1 }, /leaves the training set empty/],
    [{ seed: -3 }, /seed must be a non-negative integer/],
  ])('bad input %j → DatasetError', (bad, message) => {
    const run = () => modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0, ...bad });
    expect(run).toThrow(DatasetError);
    expect(run).toThrow(message);
  });
});
