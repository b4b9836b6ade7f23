import fs from 'node:fs';

/** The CPython-made fixture (see fixtures/make_split_fixtures.py); big integers are decimal strings. */
export interface SplitFixture {
  p: number;
  trainFraction: number;
  splits: Array<{
    seed: number;
    symmetric: boolean;
    train: number[];
    test: number[];
    labels: Record<'add' | 'subtract' | 'x2xyy2', { train: number[]; test: number[] }>;
  }>;
  random: Array<{
    seed: number | string;
    getrandbits32: number[];
    getrandbits1: number;
    getrandbits53: number;
    getrandbits64: string;
    getrandbits100: string;
    random: number[];
    randbelow: number[];
  }>;
  randTables: Array<{ seed: number; p: number; table: number[] }>;
  mnistSubsets: Array<{ seed: number; first: number[] }>;
}

export const fixture = JSON.parse(
  fs.readFileSync(new URL('./fixtures/splits.json', import.meta.url), 'utf8'),
) as SplitFixture;
