import { DatasetError } from './errors.js';
import { PythonRandom } from './pythonRandom.js';

/** A binary operation on Z_p. `table` is the drawn lookup table of ops that need one. */
export interface ModularOp {
  name: string;
  description: string;
  label(a: number, b: number, p: number, table?: Int32Array): number;
  /** Draws the op's table (p×p, row a, column b) for a run seed; only for table ops like `rand`. */
  makeTable?(p: number, seed: number): Int32Array;
}

const ops = new Map<string, ModularOp>();

/** Adds an operation to the registry (a later one with the same name replaces it). */
export function registerModularOp(op: ModularOp): void {
  ops.set(op.name, op);
}

/** Names of the registered operations. */
export function listModularOps(): string[] {
  return [...ops.keys()];
}

/** A registered operation, or a DatasetError listing the known ones. */
export function getModularOp(name: string): ModularOp {
  const op = ops.get(name);
  if (!op) throw new DatasetError(`unknown op "${name}" (known: ${listModularOps().join(', ')})`);
  return op;
}

registerModularOp({ name: 'add', description: '(a + b) mod p', label: (a, b, p) => (a + b) % p });
registerModularOp({ name: 'subtract', description: '(a − b) mod p, in [0, p)', label: (a, b, p) => (((a - b) % p) + p) % p });
registerModularOp({ name: 'x2xyy2', description: '(a² + ab + b²) mod p', label: (a, b, p) => (a * a + a * b + b * b) % p });
registerModularOp({
  name: 'rand',
  description: 'a random p×p table (seeded; the reference draws it unseeded in every process)',
  label: (a, b, p, table) => {
    if (!table) throw new DatasetError('op "rand" needs its table');
    return table[a * p + b]!;
  },
  // A stream separate from the split's: seed + 2^32 keeps the split identical to the reference.
  makeTable: (p, seed) => {
    const rng = new PythonRandom(seed + 2 ** 32);
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
  /** Run seed: the split is `random.seed(seed); random.shuffle(pairs)` as in the reference. */
  seed: number;
  /** Only pairs a ≤ b (the paper setting, default) instead of all p² ordered pairs. */
  symmetric?: boolean;
}

/** One side of the split: token pairs and labels, as plain typed arrays. */
export interface PairSplit {
  a: Int32Array;
  b: Int32Array;
  labels: Int32Array;
  size: number;
}

/** A modular-arithmetic dataset with the reference's enumeration and split. */
export interface ModularDataset {
  config: Required<ModularConfig>;
  numClasses: number;
  train: PairSplit;
  test: PairSplit;
  /** The op's table (row-major p×p) for table ops such as `rand`; store it with the run. */
  table?: Int32Array;
}

/**
 * Builds the task exactly as the reference: pairs (i, j) with i outer and j inner (0 ≤ i ≤ j < p
 * when symmetric, else all p²), shuffled with Python's `random` seeded by the run seed; the first
 * floor(trainFraction · N) are the training set, the rest the test set.
 */
export function modularArithmetic(config: ModularConfig): ModularDataset {
  const { op: opName, p, trainFraction, seed } = config;
  const symmetric = config.symmetric ?? true;
  const op = getModularOp(opName);
  if (!Number.isInteger(p) || p < 2) throw new DatasetError(`modulus p must be an integer >= 2, got ${p}`);
  if (p > 46340) throw new DatasetError(`modulus p must be at most 46340, got ${p}`);
  if (typeof trainFraction !== 'number' || !(trainFraction > 0 && trainFraction < 1)) {
    throw new DatasetError(`train fraction must be strictly between 0 and 1, got ${trainFraction}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DatasetError(`seed must be a non-negative integer, got ${seed}`);
  const pairs: number[] = [];
  for (let i = 0; i < p; i++) for (let j = symmetric ? i : 0; j < p; j++) pairs.push(i * p + j);
  // Python: int(frac * N) truncates the float64 product.
  const nTrain = Math.floor(trainFraction * pairs.length);
  if (nTrain < 1 || nTrain >= pairs.length) {
    throw new DatasetError(`train fraction ${trainFraction} of ${pairs.length} pairs leaves the ${nTrain < 1 ? 'training' : 'test'} set empty`);
  }
  new PythonRandom(seed).shuffle(pairs);
  const table = op.makeTable?.(p, seed);
  const split = (list: number[]): PairSplit => {
    const a = new Int32Array(list.length);
    const b = new Int32Array(list.length);
    const labels = new Int32Array(list.length);
    list.forEach((code, k) => {
      a[k] = Math.floor(code / p);
      b[k] = code % p;
      labels[k] = op.label(a[k]!, b[k]!, p, table);
    });
    return { a, b, labels, size: list.length };
  };
  return {
    config: { op: opName, p, trainFraction, seed, symmetric },
    numClasses: p,
    train: split(pairs.slice(0, nTrain)),
    test: split(pairs.slice(nTrain)),
    ...(table ? { table } : {}),
  };
}
