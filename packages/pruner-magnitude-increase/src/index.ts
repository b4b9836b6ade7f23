import { PrunerError, definePruner } from '@grokking-tickets/pruners';

/**
 * Magnitude increase (Zhou, Lan, Liu & Yosinski 2019, "Deconstructing Lottery Tickets: Zeros, Signs,
 * and the Supermask", the "large_final, large_init-difference" family): score = |θ_final| − |θ_init|,
 * so the weights whose magnitude grew most during training are kept and those that shrank are pruned.
 * Unlike plain magnitude, a large weight that has shrunk since initialisation is pruned.
 */
const magnitudeIncreasePruner = definePruner({
  name: 'magnitude-increase',
  description: '|θ_final| − |θ_init| (Zhou et al. 2019): keep the weights that grew the most',
  needsData: false,
  needsInitialWeights: true,
  score(ctx) {
    const theta0 = ctx.initialWeights;
    if (!theta0) throw new PrunerError('pruner "magnitude-increase" needs the initial weights θ0 (ctx.initialWeights)');
    return Object.fromEntries(
      ctx.prunable.map((name) => {
        const w = ctx.weights[name]!;
        const w0 = theta0[name];
        if (!w0 || w0.length !== w.length) throw new PrunerError(`pruner "magnitude-increase": θ0 has no matching "${name}"`);
        return [name, Float64Array.from(w, (x, i) => Math.abs(x) - Math.abs(w0[i]!))];
      }),
    );
  },
});

export default magnitudeIncreasePruner;
