import { describe, expect, it } from 'vitest';
import {
  DatasetError,
  getModularOp,
  listModularOps,
  modularArithmetic,
  registerModularOp,
  type ModularConfig,
  type PairSplit,
} from '../src/index.js';
import { fixture } from './fixture.js';

const pair = (s: PairSplit, i: number) => `(${s.a[i]},${s.b[i]})`;
const codes = (s: PairSplit, p: number) => Array.from({ length: s.size }, (_, i) => s.a[i]! * p + s.b[i]!);

describe('modular arithmetic: protocol §2.2 split vectors', () => {
  it.each([
    [0, '(38,65) (30,65) (5,57) (25,48) (22,65) (15,55) (2,2) (0,49)', '(21,27)', '(30,64)'],
    [1, '(19,60) (1,44) (4,34) (42,55) (0,35) (0,28) (47,62) (23,57)', '(42,57)', '(21,51)'],
    [2, '(39,65) (7,9) (11,32) (21,55) (21,61) (41,42) (18,62) (26,56)', '(7,29)', '(5,25)'],
  ])('symmetric p=67, seed %i', (seed, first8, lastTrain, firstTest) => {
    const d = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pair(d.train, i)).join(' ')).toBe(first8);
    expect(pair(d.train, d.train.size - 1)).toBe(lastTrain);
    expect(pair(d.test, 0)).toBe(firstTest);
  });

  it('all pairs p=67, seed 1', () => {
    const d = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 1, symmetric: false });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pair(d.train, i)).join(' ')).toBe(
      '(0,47) (6,56) (63,42) (62,56) (65,49) (40,30) (5,26) (3,40)',
    );
    expect(pair(d.train, d.train.size - 1)).toBe('(62,48)');
    expect(pair(d.test, 0)).toBe('(2,27)');
  });
});

describe('modular arithmetic against CPython random.shuffle (fixture)', () => {
  it.each(fixture.splits.map((s) => [s.seed, s.symmetric, s] as const))(
    'seed %i, symmetric %s: every pair and every label',
    (seed, symmetric, s) => {
      for (const op of ['add', 'subtract', 'x2xyy2'] as const) {
        const d = modularArithmetic({ op, p: fixture.p, trainFraction: fixture.trainFraction, seed, symmetric });
        expect(codes(d.train, fixture.p)).toEqual(s.train);
        expect(codes(d.test, fixture.p)).toEqual(s.test);
        expect(Array.from(d.train.labels)).toEqual(s.labels[op].train);
        expect(Array.from(d.test.labels)).toEqual(s.labels[op].test);
      }
    },
  );
});

describe('modular arithmetic: sizes, labels, ops', () => {
  it('sizes: 2278/911/1367 symmetric, 4489/1795/2694 all pairs; p classes', () => {
    const s = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0 });
    expect([s.train.size + s.test.size, s.train.size, s.test.size]).toEqual([2278, 911, 1367]);
    const a = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0, symmetric: false });
    expect([a.train.size + a.test.size, a.train.size, a.test.size]).toEqual([4489, 1795, 2694]);
    expect(s.numClasses).toBe(67);
    expect(s.config).toEqual({ op: 'add', p: 67, trainFraction: 0.4, seed: 0, symmetric: true });
    for (const sp of [s.train, s.test]) {
      expect([sp.a.length, sp.b.length, sp.labels.length]).toEqual([sp.size, sp.size, sp.size]);
      expect(Array.from(sp.a).every((x, i) => x <= sp.b[i]!)).toBe(true);
    }
  });

  it('spot labels with p=67: subtract(3,5) = 65, x2xyy2(2,3) = 19, add(66,66) = 65', () => {
    expect(getModularOp('subtract').label(3, 5, 67)).toBe(65);
    expect(getModularOp('x2xyy2').label(2, 3, 67)).toBe(19);
    expect(getModularOp('add').label(66, 66, 67)).toBe(65);
    // and the same values inside a built dataset
    const d = modularArithmetic({ op: 'subtract', p: 67, trainFraction: 0.4, seed: 0, symmetric: false });
    const find = (a: number, b: number) => {
      for (const sp of [d.train, d.test])
        for (let i = 0; i < sp.size; i++) if (sp.a[i] === a && sp.b[i] === b) return sp.labels[i];
      return undefined;
    };
    expect(find(3, 5)).toBe(65);
    expect(find(5, 3)).toBe(2);
  });

  it('rand: the table is deterministic for a seed, differs between seeds, labels in [0, p), split unchanged', () => {
    const a = modularArithmetic({ op: 'rand', p: 67, trainFraction: 0.4, seed: 0 });
    const b = modularArithmetic({ op: 'rand', p: 67, trainFraction: 0.4, seed: 0 });
    const c = modularArithmetic({ op: 'rand', p: 67, trainFraction: 0.4, seed: 1 });
    const add = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0 });
    expect(a.table).toHaveLength(67 * 67);
    expect(a.table).toEqual(b.table);
    expect(a.table).not.toEqual(c.table);
    expect(add.table).toBeUndefined();
    expect(Array.from(a.table!).every((x) => x >= 0 && x < 67)).toBe(true);
    expect(new Set(a.table).size).toBe(67);
    // the table's stream is separate: the split is the reference's, exactly as for `add`
    expect(a.train.a).toEqual(add.train.a);
    expect(a.train.b).toEqual(add.train.b);
    const bad: string[] = [];
    for (const sp of [a.train, a.test]) {
      for (let i = 0; i < sp.size; i++) {
        const l = sp.labels[i]!;
        if (l !== a.table![sp.a[i]! * 67 + sp.b[i]!] || l < 0 || l >= 67) bad.push(`${pair(sp, i)} → ${l}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it.each(fixture.randTables.map((t) => [t.seed, t.p, t] as const))(
    'rand table for seed %i, p=%i equals CPython random.Random(seed + 2**64)',
    (seed, p, t) => {
      const d = modularArithmetic({ op: 'rand', p, trainFraction: 0.5, seed });
      expect(Array.from(d.table!)).toEqual(t.table);
    },
  );

  it('rand works for the largest seed (its stream key exceeds 2^53)', () => {
    const d = modularArithmetic({ op: 'rand', p: 5, trainFraction: 0.5, seed: Number.MAX_SAFE_INTEGER });
    expect(d.table).toHaveLength(25);
  });

  it('the op registry lists the built-ins and accepts new ops, with their own class count', () => {
    expect(listModularOps()).toEqual(expect.arrayContaining(['add', 'subtract', 'x2xyy2', 'rand']));
    registerModularOp({ name: 'mul-test', description: 'a·b mod p', label: (x, y, p) => (x * y) % p });
    registerModularOp({
      name: 'only-add-test',
      description: 'a + b, 2p classes',
      label: (x, y) => x + y,
      numClasses: (p) => 2 * p,
    });
    expect(listModularOps()).toContain('mul-test');
    const d = modularArithmetic({ op: 'mul-test', p: 7, trainFraction: 0.5, seed: 0 });
    expect(d.train.labels[0]).toBe((d.train.a[0]! * d.train.b[0]!) % 7);
    const o = modularArithmetic({ op: 'only-add-test', p: 7, trainFraction: 0.5, seed: 0 });
    expect(o.numClasses).toBe(14);
    expect(o.train.labels[0]).toBe(o.train.a[0]! + o.train.b[0]!);
  });
});

describe('modular arithmetic: bad input throws DatasetError', () => {
  it.each<[Partial<ModularConfig>, RegExp]>([
    [{ op: 'divide' }, /^unknown op "divide" \(known: add, subtract, x2xyy2, rand/],
    [{ p: 1 }, /^modulus p must be an integer >= 2, got 1$/],
    [{ p: 0 }, /^modulus p must be an integer >= 2, got 0$/],
    [{ p: 6.5 }, /^modulus p must be an integer >= 2, got 6.5$/],
    [{ p: 50000 }, /^modulus p must be at most 46340/],
    [{ trainFraction: 0 }, /^train fraction must be strictly between 0 and 1, got 0$/],
    [{ trainFraction: 1 }, /^train fraction must be strictly between 0 and 1, got 1$/],
    [{ trainFraction: -0.2 }, /strictly between 0 and 1, got -0.2$/],
    [{ trainFraction: Number.NaN }, /strictly between 0 and 1, got NaN$/],
    [{ p: 2, trainFraction: 0.1 }, /^train fraction 0.1 of 3 pairs leaves the training set empty$/],
    [{ seed: -3 }, /^seed must be a non-negative integer below 2\^53, got -3$/],
    [{ seed: 0.5 }, /^seed must be a non-negative integer/],
    [{ seed: 2 ** 53 }, /^seed must be a non-negative integer/],
  ])('%j', (bad, message) => {
    const run = () => modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0, ...bad });
    expect(run).toThrow(DatasetError);
    expect(run).toThrow(message);
  });

  it('a DatasetError is an Error named DatasetError with a one-line message', () => {
    try {
      modularArithmetic({ op: 'nope', p: 67, trainFraction: 0.4, seed: 0 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).name).toBe('DatasetError');
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('an op giving a label outside its classes, or a malformed op, is a DatasetError', () => {
    registerModularOp({ name: 'bad-test', description: 'wrong', label: (x, y) => x + y });
    expect(() => modularArithmetic({ op: 'bad-test', p: 7, trainFraction: 0.5, seed: 0 })).toThrow(DatasetError);
    expect(() => modularArithmetic({ op: 'bad-test', p: 7, trainFraction: 0.5, seed: 0 })).toThrow(
      /op "bad-test" gave label \d+ for/,
    );
    expect(() => registerModularOp({ name: '', description: '', label: () => 0 })).toThrow(DatasetError);
    expect(() => registerModularOp({ name: 'x', description: '' } as never)).toThrow(DatasetError);
  });
});
