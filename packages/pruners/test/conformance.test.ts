import { initBackend } from '@grokking-tickets/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PRUNERS, type Pruner } from '../src/index.js';
import { assertPrunerConforms, checkPrunerConformance } from '../src/testing.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const fake = (name: string, score: Pruner['score']): Pruner => ({
  name,
  description: 'test double',
  needsData: false,
  score,
});

describe('conformance kit (@grokking-tickets/pruners/testing)', () => {
  it.each(BUILTIN_PRUNERS.map((p) => [p.name, p] as const))('built-in %s conforms', async (_name, pruner) => {
    const checks = await checkPrunerConformance(pruner);
    // shape, scores, determinism, 8 masks, masked scoring, 2 rounds
    expect(checks.map((c) => c.ok)).toEqual(Array(13).fill(true));
    await assertPrunerConforms(pruner);
  });

  it('catches broken pruners, one line per failed check', async () => {
    const nan = fake('nan', (c) =>
      Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(c.weights[n]!.length).fill(Number.NaN)])),
    );
    await expect(assertPrunerConforms(nan)).rejects.toThrow(
      /pruner "nan" fails \d+ conformance check\(s\):\n- scores exactly the prunable parameters, with the right lengths, no NaN or undefined: "W_E"\[0\] is NaN/,
    );
    const short = fake('short', (c) => Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(3)])));
    await expect(assertPrunerConforms(short)).rejects.toThrow(/"W_E": 3 scores for 84 weights/);
    const missing = fake('missing', (c) =>
      Object.fromEntries(c.prunable.slice(1).map((n) => [n, new Float64Array(c.weights[n]!.length)])),
    );
    await expect(assertPrunerConforms(missing)).rejects.toThrow(/no scores for "W_E"/);
    const extra = fake('extra', (c) =>
      Object.fromEntries([...c.prunable, 'W_Z'].map((n) => [n, new Float64Array(c.weights[n]?.length ?? 1)])),
    );
    await expect(assertPrunerConforms(extra)).rejects.toThrow(/not asked for: W_Z/);
    let calls = 0;
    const flaky = fake('flaky', (c) =>
      Object.fromEntries(c.prunable.map((n) => [n, c.weights[n]!.map(() => ++calls)])),
    );
    expect((await checkPrunerConformance(flaky)).find((c) => c.name.startsWith('is deterministic'))).toMatchObject({
      ok: false,
    });
    const infinite = fake('infinite', (c) =>
      Object.fromEntries(
        c.prunable.map((n) => [
          n,
          Float64Array.from(c.weights[n]!, (w, i) => (c.masks[n]![i] === 0 ? Number.NEGATIVE_INFINITY : Math.abs(w))),
        ]),
      ),
    );
    const failed = (await checkPrunerConformance(infinite)).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual([
      'scores a masked model (ctx.masks with half the weights pruned): finite scores',
    ]);
    await expect(assertPrunerConforms({ name: 'shapeless' } as never)).rejects.toThrow(/has no score\(ctx\) function/);
    const throws = fake('throws', () => {
      throw new Error('kaboom');
    });
    await expect(assertPrunerConforms(throws)).rejects.toThrow(/threw: kaboom/);
  });

  it("scores so coarse that ties prune far more than asked fail (the reference's sanity check: 5 weights)", async () => {
    const coarse = fake('coarse', (c) =>
      Object.fromEntries(c.prunable.map((n) => [n, Float64Array.from(c.weights[n]!, (_, i) => i % 3)])),
    );
    await expect(assertPrunerConforms(coarse)).rejects.toThrow(
      /pruner "coarse" pruned \d+ of \d+ weights instead of \d+ .*scores tie at the threshold/,
    );
    const allTied = fake('flat', (c) =>
      Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(c.weights[n]!.length).fill(1)])),
    );
    await expect(assertPrunerConforms(allTied)).rejects.toThrow(/pruner "flat" pruned/);
  });
});
