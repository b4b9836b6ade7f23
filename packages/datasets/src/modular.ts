import { createRegistry, type Registry } from '@grokking-tickets/registry';
import { DatasetError } from './errors.js';
import { PythonRandom } from './pythonRandom.js';

/**
 * A binary operation on Z_p, as an entry of the op registry (ops are data, not a switch, so a
 * package can add one without touching this file).
 */
export interface ModularOp {
  /** Registry key, used as the `op` of a task config. */
  name: string;
  /** One line for listings and logs. */
  description: string;
  /** The class of (a, b); `table` is the op's drawn table when it has one (row a, column b). */
  label(a: number, b: number, p: number, table?: Int32Array): number;
  /** Number of classes for modulus p; default p (an op like the reference's `only_add` would need 2p). */
  numClasses?(p: number): number;
  /** Draws the op's p×p table for a run seed; only for table ops like `rand`. */
  makeTable?(p: number, seed: number): Int32Array;
}

/** The modular operations, by name (the registry `registerModularOp` and `getModularOp` use). */
export const modularOps: Registry<ModularOp> = createRegistry<ModularOp>({
  kind: 'op',
  plural: 'modularOps',
  check: (op) =>
    typeof (op as ModularOp).name !== 'string' || (op as ModularOp).name === ''
      ? 'a modular op needs a non-empty name'
      : typeof (op as ModularOp).label !== 'function'
        ? `modular op "${(op as ModularOp).name}" needs a label(a, b, p, table?) function`
        : null,
  invalid: (problem) => new DatasetError(problem),
});

/** Adds an operation to the registry (a later one with the same name replaces it). */
export function registerModularOp(op: ModularOp): void {
  modularOps.register(op);
}

/** Names of the registered operations. */
export function listModularOps(): string[] {
  return modularOps.names();
}

/** A registered operation, or a RegistryError listing the known ones. */
export function getModularOp(name: string): ModularOp {
  return modularOps.get(name);
}

registerModularOp({ name: 'add', description: '(a + b) mod p', label: (a, b, p) => (a + b) % p });
registerModularOp({
  name: 'subtract',
  description: '(a − b) mod p, in [0, p)',
  label: (a, b, p) => (((a - b) % p) + p) % p,
});
registerModularOp({
  name: 'x2xyy2',
  description: '(a² + ab + b²) mod p',
  label: (a, b, p) => (a * a + a * b + b * b) % p,
});

/**
 * Offset of the `rand` table's seed: the table stream is CPython's `random.Random(seed + 2**64)`.
 * Every valid run seed is < 2^53, so this stream never coincides with any run's split stream, and
 * the split stays exactly the reference's. (The reference draws the table from NumPy's global
 * generator, unseeded, so its tables cannot be reproduced anyway: protocol §9 row 5.)
 */
const RAND_TABLE_SEED_OFFSET = 2n ** 64n;

registerModularOp({
  name: 'rand',
  description: 'a random p×p table, uniform on 0..p-1 (seeded from the run seed; stored with the run)',
  label: (a, b, p, table) => {
    if (!table || table.length !== p * p) throw new DatasetError(`op "rand" needs its ${p}×${p} table`);
    return table[a * p + b]!;
  },
  // Python equivalent: r = random.Random(seed + 2**64); [r.randrange(p) for _ in range(p * p)], row-major.
  makeTable: (p, seed) => {
    const rng = new PythonRandom(BigInt(seed) + RAND_TABLE_SEED_OFFSET);
    const t = new Int32Array(p * p);
    for (let i = 0; i < t.length; i++) t[i] = rng.randbelow(p);
    return t;
  },
});

/** Options of a modular-arithmetic task. */
export interface ModularConfig {
  op: string;
  p: number;
  /** Fraction of the pairs used for training, strictly inside (0, 1). */
  trainFraction: number;
  /**
   * Run seed, a non-negative integer < 2^53: the split is `random.seed(seed); random.shuffle(pairs)` as in the
   * reference.
   */
  seed: number;
  /** Only pairs a ≤ b (the paper setting, default) instead of all p² ordered pairs. */
  symmetric?: boolean;
}

/** One side of the split: token pairs and labels, as plain typed arrays. */
export interface PairSplit {
  /** First operand of each example, in 0..p-1. */
  a: Int32Array;
  /** Second operand of each example, in 0..p-1. */
  b: Int32Array;
  /** Class of each example, in 0..numClasses-1. */
  labels: Int32Array;
  /** Number of examples. */
  size: number;
}

/** A modular-arithmetic dataset with the reference's enumeration and split. */
export interface ModularDataset {
  /** The config with defaults filled in. */
  config: Required<ModularConfig>;
  /** Number of label classes (p for every built-in op). */
  numClasses: number;
  /** The first floor(trainFraction · N) shuffled pairs. */
  train: PairSplit;
  /** The remaining pairs, in shuffled order. */
  test: PairSplit;
  /** The op's table (row-major p×p) for table ops such as `rand`; store it with the run. */
  table?: Int32Array;
}

/**
 * Builds the task exactly as the reference: pairs (i, j) with i outer and j inner (0 ≤ i ≤ j < p
 * when symmetric, else all p²), shuffled with Python's `random` seeded by the run seed; the first
 * floor(trainFraction · N) are the training set, the rest the test set.
 * @example
 * const ds = modularArithmetic({ op: 'add', p: 67, trainFraction: 0.4, seed: 0 });
 * ds.train.size;                   // 911 (the reference's split for seed 0)
 * [ds.train.a[0], ds.train.b[0]];  // [38, 65]
 */
export function modularArithmetic(config: ModularConfig): ModularDataset {
  const { op: opName, p, trainFraction, seed } = config;
  const symmetric = config.symmetric ?? true;
  const op = modularOps.find(opName);
  if (!op) throw new DatasetError(modularOps.unknown(opName).message);
  if (!Number.isInteger(p) || p < 2) throw new DatasetError(`modulus p must be an integer >= 2, got ${p}`);
  // Pairs are coded as a·p + b in an int32 (and p² pairs are materialised), hence the bound.
  if (p > 46340) throw new DatasetError(`modulus p must be at most 46340, got ${p}`);
  if (typeof trainFraction !== 'number' || !(trainFraction > 0 && trainFraction < 1)) {
    throw new DatasetError(`train fraction must be strictly between 0 and 1, got ${trainFraction}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new DatasetError(`seed must be a non-negative integer below 2^53, got ${seed}`);
  const pairs: number[] = [];
  for (let i = 0; i < p; i++) for (let j = symmetric ? i : 0; j < p; j++) pairs.push(i * p + j);
  // Python: int(frac * N) truncates the float64 product.
  const nTrain = Math.floor(trainFraction * pairs.length);
  if (nTrain < 1 || nTrain >= pairs.length) {
    throw new DatasetError(
      `train fraction ${trainFraction} of ${pairs.length} pairs leaves the ${nTrain < 1 ? 'training' : 'test'} set empty`,
    );
  }
  new PythonRandom(seed).shuffle(pairs);
  const table = op.makeTable?.(p, seed);
  const numClasses = op.numClasses?.(p) ?? p;
  const split = (list: number[]): PairSplit => {
    const a = new Int32Array(list.length);
    const b = new Int32Array(list.length);
    const labels = new Int32Array(list.length);
    list.forEach((code, k) => {
      a[k] = Math.floor(code / p);
      b[k] = code % p;
      const label = op.label(a[k], b[k], p, table);
      // A user op returning a bad class would otherwise surface as a silent wrong loss later.
      if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
        throw new DatasetError(
          `op "${opName}" gave label ${label} for (${a[k]}, ${b[k]}), outside 0..${numClasses - 1}`,
        );
      }
      labels[k] = label;
    });
    return { a, b, labels, size: list.length };
  };
  return {
    config: { op: opName, p, trainFraction, seed, symmetric },
    numClasses,
    train: split(pairs.slice(0, nTrain)),
    test: split(pairs.slice(nTrain)),
    ...(table ? { table } : {}),
  };
}
