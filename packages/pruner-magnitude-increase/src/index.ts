/**
 * @grokking-tickets/pruner-magnitude-increase — the magnitude-increase mask criterion of Zhou et al.
 * 2019 as a grokking-tickets pruner (made with `npm run new-pruner -- magnitude-increase`).
 */
import { PrunerError, definePruner } from '@grokking-tickets/pruners';

/**
 * Magnitude increase (Zhou, Lan, Liu & Yosinski 2019, "Deconstructing Lottery Tickets: Zeros, Signs,
 * and the Supermask", NeurIPS): score = |θ_final| − |θ_init|, computed elementwise from
 * `ctx.weights` (θ_final, the weights being scored) and `ctx.initialWeights` (θ_init = θ0). The
 * weights whose magnitude grew the most during training are kept; those that shrank are pruned
 * first — even large ones, which plain magnitude (|θ_final|) would keep.
 *
 * Needs θ0 (`needsInitialWeights: true`); throws a one-line PrunerError when it is missing or does
 * not match the weights.
 * @example
 * // grokking-tickets ticket --pruner @grokking-tickets/pruner-magnitude-increase, or from code:
 * const { masks } = await buildMask(magnitudeIncrease, { model, weights: thetaFinal, initialWeights: theta0, seed: 0 },
 * { pruningRate: 0.6 });
 */
const magnitudeIncreasePruner = definePruner({
  name: 'magnitude-increase',
  description: '|θ_final| − |θ_init| (Zhou et al. 2019): keep the weights whose magnitude grew the most',
  needsData: false,
  needsInitialWeights: true,
  score(ctx) {
    const theta0 = ctx.initialWeights;
    if (!theta0)
      throw new PrunerError(
        'pruner "magnitude-increase" needs the initial weights θ0 (ctx.initialWeights); pass the dense run\'s θ0',
      );
    return Object.fromEntries(
      ctx.prunable.map((name) => {
        const w = ctx.weights[name]!;
        const w0 = theta0[name];
        if (!w0)
          throw new PrunerError(`pruner "magnitude-increase": the initial weights θ0 have no parameter "${name}"`);
        if (w0.length !== w.length)
          throw new PrunerError(
            `pruner "magnitude-increase": θ0 "${name}" has ${w0.length} values, the weights ${w.length}`,
          );
        return [name, Float64Array.from(w, (x, i) => Math.abs(x) - Math.abs(w0[i]!))];
      }),
    );
  },
});

export default magnitudeIncreasePruner;
