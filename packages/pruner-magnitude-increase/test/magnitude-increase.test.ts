import { initBackend } from '@grokking-tickets/backend';
import { createModel } from '@grokking-tickets/models';
import { buildMask, getPruner, loadPruner } from '@grokking-tickets/pruners';
import { assertPrunerConforms } from '@grokking-tickets/pruners/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import pruner from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// A tiny MLP (vocab 2, dEmb 1, dModel 1: W_E 1×2, W_in 1×1, W_out 1×1, W_U 1×2) with hand-chosen weights.
const model = createModel('mlp', { vocab: 2, dEmb: 1, dModel: 1 });
const theta0 = { W_E: Float32Array.of(1, -0.5), W_in: Float32Array.of(0.1), W_out: Float32Array.of(2), W_U: Float32Array.of(-0.2, 0.3) };
const thetaT = { W_E: Float32Array.of(1.5, -0.25), W_in: Float32Array.of(-0.6), W_out: Float32Array.of(0.9), W_U: Float32Array.of(-0.2, 0.05) };

describe('magnitude-increase', () => {
  it('passes the pruner conformance kit', async () => {
    await assertPrunerConforms(pruner);
  });

  it('scores |θ_final| − |θ_init| exactly (by hand)', async () => {
    const s = await pruner.score({ model, weights: thetaT, initialWeights: theta0, masks: {}, prunable: ['W_E', 'W_in', 'W_out', 'W_U'], seed: 0, round: 1, rounds: 1 });
    const f32 = (x: number) => Math.fround(x);
    expect(Array.from(s.W_E!)).toEqual([f32(1.5) - 1, f32(0.25) - f32(0.5)]); // 0.5, -0.25
    expect(Array.from(s.W_in!)).toEqual([f32(0.6) - f32(0.1)]); // ≈ 0.5
    expect(Array.from(s.W_out!)).toEqual([f32(0.9) - 2]); // ≈ -1.1
    expect(Array.from(s.W_U!)).toEqual([0, f32(0.05) - f32(0.3)]); // 0, ≈ -0.25
  });

  it('prunes a large weight that shrank, which magnitude keeps', async () => {
    const ctx = { model, weights: thetaT, initialWeights: theta0, seed: 0 };
    // remove 3 of 6: magnitude drops the three smallest |θ_final| (0.05, 0.2, 0.25)
    const mag = await buildMask(getPruner('magnitude'), ctx, { pruningRate: 0.5 });
    const inc = await buildMask(pruner, ctx, { pruningRate: 0.5 });
    expect(mag.masks.W_out![0]).toBe(1); // |0.9| is the third largest magnitude
    expect(inc.masks.W_out![0]).toBe(0); // but it shrank from 2: the lowest increase
    expect(inc.masks.W_E![0]).toBe(1); // grew from 1 to 1.5
    expect(inc.masks.W_in![0]).toBe(1); // grew from 0.1 to 0.6 (sign flip, magnitude up)
    expect(inc.kept).toBe(3);
  });

  it('needs θ0 and says so in one line', async () => {
    await expect(buildMask(pruner, { model, weights: thetaT, seed: 0 }, { pruningRate: 0.5 })).rejects.toThrow(/needs the initial weights θ0/);
  });

  it('loads by package name, as the CLI does', async () => {
    expect((await loadPruner('@grokking-tickets/pruner-magnitude-increase')).name).toBe('magnitude-increase');
  });
});
