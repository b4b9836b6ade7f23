import { initBackend } from '@grokking-tickets/backend';
import { createModel, type NamedArrays } from '@grokking-tickets/models';
import { PrunerError, buildMask, getPruner, loadPruner } from '@grokking-tickets/pruners';
import { assertPrunerConforms } from '@grokking-tickets/pruners/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import pruner from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// A tiny MLP (vocab 2, dEmb 1, dModel 1): W_E 1×2, W_in 1×1, W_out 1×1, W_U 1×2 — six prunable
// weights. Values are dyadic fractions, exact in float32, so the scores below are exact.
const model = createModel('mlp', { vocab: 2, dEmb: 1, dModel: 1 });
const PRUNABLE = ['W_E', 'W_in', 'W_out', 'W_U'];
const theta0: NamedArrays = {
  W_E: Float32Array.of(1, -0.5),
  W_in: Float32Array.of(0.125),
  W_out: Float32Array.of(2),
  W_U: Float32Array.of(-0.25, 0.375),
};
const thetaT: NamedArrays = {
  W_E: Float32Array.of(1.5, -0.25),
  W_in: Float32Array.of(-0.625),
  W_out: Float32Array.of(0.875),
  W_U: Float32Array.of(-0.25, 0.0625),
};
const ones = (): NamedArrays =>
  Object.fromEntries(PRUNABLE.map((n) => [n, new Float32Array(thetaT[n]!.length).fill(1)]));
const ctx = (initialWeights?: NamedArrays) => ({
  model,
  weights: thetaT,
  ...(initialWeights ? { initialWeights } : {}),
  masks: ones(),
  prunable: PRUNABLE,
  seed: 0,
  round: 1,
  rounds: 1,
});
const asLists = (m: Record<string, ArrayLike<number>>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.from(v)]));

describe('magnitude-increase', () => {
  it('passes the pruner conformance kit', async () => {
    await assertPrunerConforms(pruner);
  });

  it('declares what it reads', () => {
    expect(pruner).toMatchObject({ name: 'magnitude-increase', needsData: false, needsInitialWeights: true });
  });

  it('scores |θ_final| − |θ_init| exactly (computed by hand)', async () => {
    const s = await pruner.score(ctx(theta0));
    expect(Object.keys(s).sort()).toEqual([...PRUNABLE].sort());
    expect(asLists(s)).toEqual({
      W_E: [0.5, -0.25], //    |1.5| − |1| = 0.5;        |−0.25| − |−0.5| = −0.25
      W_in: [0.5], //          |−0.625| − |0.125| = 0.5  (sign flipped, magnitude grew)
      W_out: [-1.125], //      |0.875| − |2| = −1.125
      W_U: [0, -0.3125], //    |−0.25| − |−0.25| = 0;    |0.0625| − |0.375| = −0.3125
    });
  });

  it('keeps the weights that grew and prunes those that shrank, where magnitude disagrees', async () => {
    // Remove 3 of 6 weights (k = 3, ties at the threshold are pruned).
    // magnitude-increase scores: −1.125, −0.3125, −0.25 | 0, 0.5, 0.5 → prunes exactly the three that shrank.
    // magnitude |θ_final|:       0.0625, 0.25, 0.25 | 0.625, 0.875, 1.5 → keeps W_out (0.875), which shrank from 2,
    // and prunes W_U[0] (0.25), which did not shrink.
    const inc = await buildMask(
      pruner,
      { model, weights: thetaT, initialWeights: theta0, seed: 0 },
      { pruningRate: 0.5 },
    );
    const mag = await buildMask(
      getPruner('magnitude'),
      { model, weights: thetaT, initialWeights: theta0, seed: 0 },
      { pruningRate: 0.5 },
    );
    expect(asLists(inc.masks)).toEqual({ W_E: [1, 0], W_in: [1], W_out: [0], W_U: [1, 0] });
    expect(asLists(mag.masks)).toEqual({ W_E: [1, 0], W_in: [1], W_out: [1], W_U: [0, 0] });
    expect([inc.kept, inc.total]).toEqual([3, 6]);
    expect([mag.kept, mag.total]).toEqual([3, 6]);
  });

  it('throws a one-line PrunerError without θ0', async () => {
    const err = await Promise.resolve()
      .then(() => pruner.score(ctx()))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrunerError);
    expect((err as Error).message).toMatch(
      /^pruner "magnitude-increase" needs the initial weights θ0 \(ctx\.initialWeights\)/,
    );
    expect((err as Error).message).not.toContain('\n');
    await expect(buildMask(pruner, { model, weights: thetaT, seed: 0 }, { pruningRate: 0.5 })).rejects.toThrow(
      /needs the initial weights θ0/,
    );
  });

  it('throws when θ0 does not match the weights', async () => {
    const { W_out: _dropped, ...partial } = theta0;
    await expect(Promise.resolve().then(() => pruner.score(ctx(partial)))).rejects.toThrow(
      /θ0 have no parameter "W_out"/,
    );
    await expect(
      Promise.resolve().then(() => pruner.score(ctx({ ...theta0, W_U: Float32Array.of(1) }))),
    ).rejects.toThrow(/θ0 "W_U" has 1 values, the weights 2/);
  });

  it('loads by package name, as the CLI does', async () => {
    expect((await loadPruner('@grokking-tickets/pruner-magnitude-increase')).name).toBe('magnitude-increase');
  });
});
