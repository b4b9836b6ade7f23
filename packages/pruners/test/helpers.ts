import fs from 'node:fs';
import { createModel, type Batch, type NamedArrays } from '@grokking-tickets/models';
import type { ScoringContext } from '../src/index.js';

/** The float64 fixture written by test/fixtures/make_pruner_fixtures.py. */
export const fixture = JSON.parse(
  fs.readFileSync(new URL('./fixtures/pruner_scores.json', import.meta.url), 'utf8'),
) as {
  config: { vocab: number; dEmb: number; dModel: number };
  weights: Record<string, number[]>;
  masks: Record<string, number[]>;
  pairs: { a: number[]; b: number[]; labels: number[] };
  loss: number;
  checks: Record<string, number>;
  scores: Record<'magnitude' | 'snipRaw' | 'snip' | 'graspHg' | 'grasp' | 'synflow', Record<string, number[]>>;
};

export const PRUNABLE = ['W_E', 'W_in', 'W_out', 'W_U'];

/** The fixture's model, weights, masks and batch as a scoring context (round 1 of 1, seed 0). */
export function fixtureContext(): ScoringContext {
  const model = createModel('mlp', fixture.config);
  const weights: NamedArrays = Object.fromEntries(
    Object.entries(fixture.weights).map(([k, v]) => [k, Float32Array.from(v)]),
  );
  const masks: NamedArrays = Object.fromEntries(
    Object.entries(fixture.masks).map(([k, v]) => [k, Float32Array.from(v)]),
  );
  const { a, b, labels } = fixture.pairs;
  const batch: Batch = { kind: 'pairs', a: Int32Array.from(a), b: Int32Array.from(b), labels: Int32Array.from(labels) };
  return { model, weights, masks, prunable: [...PRUNABLE], batch, seed: 0, round: 1, rounds: 1 };
}

/**
 * Largest |got − want| over every entry of every tensor, divided by the largest |want| (a relative
 * error on the scale of the scores; per-entry relative errors are meaningless for entries that are
 * near zero by cancellation).
 */
export function scaledError(got: Record<string, ArrayLike<number>>, want: Record<string, number[]>): number {
  let err = 0;
  let scale = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name]!;
    if (g.length !== w.length) return Number.POSITIVE_INFINITY;
    w.forEach((x, i) => {
      err = Math.max(err, Math.abs(g[i]! - x));
      scale = Math.max(scale, Math.abs(x));
    });
  }
  return err / scale;
}

/** Number of ones in a mask. */
export const ones = (m: ArrayLike<number>): number => Array.from(m).reduce((s, x) => s + x, 0);
