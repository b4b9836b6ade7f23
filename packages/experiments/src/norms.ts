// Temporary home of the same-norm scales until @grokking-tickets/grokking-metrics lands (it owns them).
import type { NamedArrays } from '@grokking-tickets/models';
import type { NormDefinition } from './ticketConfig.js';

/** L1 and L2 norms of θ ⊙ m over the given parameters, by the chosen definition. */
export function maskedNorms(weights: NamedArrays, masks: NamedArrays | null, names: string[], def: NormDefinition): { l1: number; l2: number } {
  let l1 = 0;
  let l2sq = 0;
  let l2sum = 0;
  for (const name of names) {
    const w = weights[name]!;
    const m = masks?.[name];
    let t1 = 0;
    let t2 = 0;
    for (let i = 0; i < w.length; i++) {
      const x = m ? w[i]! * m[i]! : w[i]!;
      t1 += Math.abs(x);
      t2 += x * x;
    }
    l1 += t1;
    l2sq += t2;
    l2sum += Math.sqrt(t2);
  }
  return { l1, l2: def === 'global' ? Math.sqrt(l2sq) : l2sum };
}

/** α₁ = ‖θ0 ⊙ m‖₁ / ‖θ0‖₁ and α₂ = ‖θ0 ⊙ m‖₂ / ‖θ0‖₂ (spec §6.2). */
export function sameNormScales(theta0: NamedArrays, masks: NamedArrays, names: string[], def: NormDefinition): { alphaL1: number; alphaL2: number } {
  const ticket = maskedNorms(theta0, masks, names, def);
  const dense = maskedNorms(theta0, null, names, def);
  return { alphaL1: ticket.l1 / dense.l1, alphaL2: ticket.l2 / dense.l2 };
}
