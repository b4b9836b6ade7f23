import fs from 'node:fs';
import { expect } from 'vitest';
import type { NamedArrays } from '../src/index.js';

type Loss = { train: number; all: number };
type KeyFreq = {
  p: number;
  rows: number;
  threshold: number;
  matrix: number[];
  perRow: Array<{ frequency: number | null; share: number }>;
  keyFrequencies: Array<{ frequency: number; neurons: number }>;
  assigned: number;
  unassigned: number;
};
type Counts = { kept: number; total: number; keptFraction: number };

/** The float64 numpy fixture written by test/fixtures/make_metrics_fixtures.py. */
export const fixture = JSON.parse(
  fs.readFileSync(new URL('./fixtures/metrics_fixtures.json', import.meta.url), 'utf8'),
) as {
  norms: {
    weights: Record<string, number[]>;
    masks: Record<string, number[]>;
    names: string[];
    subset: string[];
    weightNorms: Record<
      'masked' | 'unmasked' | 'maskedSubset',
      {
        l1: number;
        l2: number;
        l1PerTensorMean: number;
        l2PerTensorMean: number;
        perTensor: Record<string, { l1: number; l2: number }>;
      }
    >;
    maskedNorms: Record<'global' | 'perTensorSum' | 'unmaskedGlobal', { l1: number; l2: number }>;
    sameNormScales: Record<'global' | 'perTensorSum', { alphaL1: number; alphaL2: number }>;
  };
  effective: {
    dims: { vocab: number; dEmb: number; dModel: number };
    weights: Record<string, number[]>;
    masks: Record<string, number[]>;
    masked: { A: number[]; B: number[] };
    unmasked: { A: number[]; B: number[] };
  };
  spectrum: Array<{
    p: number;
    rows: number;
    matrix: number[];
    perRow: number[];
    summed: number[];
    summedPower: number[];
  }>;
  entropy: Array<{
    p: number;
    rows: number;
    frequencies: 'reference' | 'all';
    matrix: number[];
    spectralConcentration: number;
    shannon: number;
    neurons: number;
    skipped: number;
  }>;
  gini: Array<{ values: number[]; gini: number }>;
  spectrumGini: { p: number; rows: number; matrix: number[]; gini: number };
  keyFrequencies: KeyFreq[];
  restricted: Array<{
    name: string;
    p: number;
    keyFrequencies: number[];
    logits: number[];
    labels: number[];
    trainPairs: boolean[];
    full: Loss;
    restricted: Loss;
    excluded: Loss;
  }>;
  masks: {
    a: Record<string, number[]>;
    b: Record<string, number[]>;
    statsA: Counts & { perTensor: Record<string, Counts> };
    statsB: Counts & { perTensor: Record<string, Counts> };
    overlap: {
      intersection: number;
      union: number;
      jaccard: number;
      perTensor: Record<string, { intersection: number; union: number; jaccard: number }>;
    };
  };
};

/** Float32Array tensors from the fixture's number lists (the script rounded them to float32). */
export const f32 = (o: Record<string, number[]>): NamedArrays =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Float32Array.from(v)]));

/** |got − want| ≤ rel · |want| (both float64: rel 1e-10 by default). */
export function expectRel(got: number, want: number, rel = 1e-10): void {
  expect(Number.isFinite(got), `got ${got}, want ${want}`).toBe(true);
  expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThanOrEqual(rel * Math.abs(want));
}

/**
 * max_i |got_i − want_i| ≤ rel · max_i |want_i| (relative to the array's scale: entries that are ~0 by
 * cancellation, e.g. DFT leakage, make per-entry relative errors meaningless).
 */
export function expectArrayRel(got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-10): void {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  expect(err, `max error ${err} at scale ${scale}`).toBeLessThanOrEqual(rel * scale);
}

/** A seeded N(0, 1) stream (mulberry32 + Box-Muller), for property tests. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
