/**
 * @grokking-tickets/pruners/testing — the conformance kit for pruner packages: one suite of contract
 * checks, run against any pruner (as tfjs runs its core test suite against every backend).
 * Framework-agnostic: `await assertPrunerConforms(pruner)` inside any test. The caller initialises
 * a tfjs backend first (`await initBackend()` from @grokking-tickets/backend) for pruners that use tfjs.
 */
import {
  SeededRandom,
  createModel,
  initialWeights,
  type Batch,
  type GrokModel,
  type NamedArrays,
} from '@grokking-tickets/models';
import { prunerShapeProblem } from './builtins.js';
import { buildMask } from './mask.js';
import type { Pruner, ScoringContext, Scores } from './types.js';

/** One contract check and its outcome (`detail` says what went wrong). */
export interface ConformanceCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/**
 * The setting of the checks: an mlp with vocab 7, dEmb 12, dModel 8; θ0; a perturbed θ_t; 20 token pairs labelled (a +
 * b) mod 7.
 */
export function conformanceSetting(seed = 0): {
  model: GrokModel;
  theta0: NamedArrays;
  thetaT: NamedArrays;
  batch: Batch;
} {
  const model = createModel('mlp', { vocab: 7, dEmb: 12, dModel: 8 });
  const theta0 = initialWeights(model, seed);
  const rng = new SeededRandom(seed, 'conformance/theta-t');
  const thetaT: NamedArrays = Object.fromEntries(
    Object.entries(theta0).map(([k, w]) => [
      k,
      w.map((x) => x + 0.5 * rng.normal() * Math.abs(x) + 0.01 * rng.normal()),
    ]),
  );
  const a = Int32Array.from({ length: 20 }, (_, i) => i % 7);
  const b = Int32Array.from({ length: 20 }, (_, i) => (i * 3 + 1) % 7);
  const batch: Batch = { kind: 'pairs', a, b, labels: a.map((x, i) => (x + b[i]!) % 7) };
  return { model, theta0, thetaT, batch };
}

const run = async (name: string, fn: () => Promise<string | null> | string | null): Promise<ConformanceCheck> => {
  try {
    const problem = await fn();
    return problem ? { name, ok: false, detail: problem } : { name, ok: true };
  } catch (e) {
    return { name, ok: false, detail: `threw: ${String((e as Error)?.message ?? e).split('\n')[0]}` };
  }
};

/** Whether any two scores are equal (within one tensor for `local`, across all for `global`). */
function hasTies(scores: Scores, names: string[], scope: 'global' | 'local'): boolean {
  const groups =
    scope === 'local'
      ? names.map((n) => Float64Array.from(scores[n]!))
      : [Float64Array.from(names.flatMap((n) => Array.from(scores[n]!)))];
  return groups.some((g) => g.sort().some((v, i) => i > 0 && v === g[i - 1]));
}

/** Problems of a score set: missing names, wrong lengths, extra names, non-numbers (NaN; also ±∞ when `finite`). */
function scoreProblem(scores: Scores, prunable: string[], weights: NamedArrays, finite: boolean): string | null {
  if (!scores || typeof scores !== 'object')
    return `score() returned ${scores === null ? 'null' : typeof scores}, not a record of arrays`;
  for (const name of prunable) {
    const s = scores[name];
    if (!s) return `no scores for "${name}"`;
    if (s.length !== weights[name]!.length) return `"${name}": ${s.length} scores for ${weights[name]!.length} weights`;
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (typeof v !== 'number' || Number.isNaN(v) || (finite && !Number.isFinite(v))) return `"${name}"[${i}] is ${v}`;
    }
  }
  const extra = Object.keys(scores).filter((k) => !prunable.includes(k));
  return extra.length ? `scores for parameters that were not asked for: ${extra.join(', ')}` : null;
}

/**
 * Runs a pruner through the contract checks on a small model (mlp with vocab 7, dEmb 12, dModel 8,
 * random θ0 and θ_t, 20 token pairs; see {@link conformanceSetting}):
 * - the object has the Pruner shape;
 * - scores exist for exactly the prunable names, with the right lengths, no NaN or undefined;
 * - two calls with the same seed give identical scores;
 * - buildMask at pruning rates 0, 0.3, 0.6, 0.9, global and local, gives 0/1 masks and removes
 *   exactly floor(r·N) weights (per tensor for local) when the scores have no ties, at most
 *   TIE_TOLERANCE − 1 more otherwise (ties at the threshold are pruned; scores so coarse that ties
 *   remove more fail, as buildMask refuses them), and nothing at rate 0;
 * - scoring with non-trivial ctx.masks applied (half the weights pruned, round 2 of 2) does not
 *   crash and returns finite scores, and a two-round linear schedule reaches its target.
 * Returns every check; none throws.
 */
export async function checkPrunerConformance(
  pruner: Pruner,
  options: { seed?: number } = {},
): Promise<ConformanceCheck[]> {
  const seed = options.seed ?? 0;
  const checks: ConformanceCheck[] = [];
  const shape = prunerShapeProblem(pruner);
  checks.push({
    name: 'has a name, description, needsData and score()',
    ok: !shape,
    ...(shape ? { detail: shape } : {}),
  });
  if (shape) return checks;

  const { model, theta0, thetaT, batch } = conformanceSetting(seed);
  const prunable = model.params.filter((p) => p.prunable).map((p) => p.name);
  const ones = Object.fromEntries(prunable.map((n) => [n, new Float32Array(thetaT[n]!.length).fill(1)]));
  const ctx: ScoringContext = {
    model,
    weights: thetaT,
    masks: ones,
    prunable,
    initialWeights: theta0,
    batch,
    seed,
    round: 1,
    rounds: 1,
  };
  const total = prunable.reduce((n, k) => n + thetaT[k]!.length, 0);

  let first: Scores | null = null;
  checks.push(
    await run('scores exactly the prunable parameters, with the right lengths, no NaN or undefined', async () => {
      first = await pruner.score(ctx);
      return scoreProblem(first, prunable, thetaT, false);
    }),
  );
  checks.push(
    await run('is deterministic for a seed (two calls give equal scores)', async () => {
      if (!first) return 'no first scores to compare';
      const again = await pruner.score(ctx);
      for (const name of prunable) {
        for (let i = 0; i < first[name]!.length; i++)
          if (!Object.is(again[name]?.[i], first[name]![i]))
            return `"${name}"[${i}] is ${first[name]![i]} then ${again[name]?.[i]}`;
      }
      return null;
    }),
  );
  for (const scope of ['global', 'local'] as const) {
    for (const rate of [0, 0.3, 0.6, 0.9]) {
      checks.push(
        await run(`${scope} mask at pruning rate ${rate}: 0/1 entries, removes floor(rate·N) weights`, async () => {
          const r = await buildMask(
            pruner,
            { model, weights: thetaT, initialWeights: theta0, batch, seed },
            { pruningRate: rate, scope },
          );
          for (const [name, m] of Object.entries(r.masks))
            for (let i = 0; i < m.length; i++)
              if (m[i] !== 0 && m[i] !== 1) return `"${name}"[${i}] of the mask is ${m[i]}`;
          const expected =
            scope === 'global'
              ? Math.floor(rate * total)
              : prunable.reduce((n, k) => n + Math.floor(rate * thetaT[k]!.length), 0);
          const removed = r.total - r.kept;
          if (rate === 0) return removed === 0 ? null : `rate 0 removed ${removed}`;
          const ties = first ? hasTies(first, prunable, scope) : true;
          if (!ties && removed !== expected)
            return `removed ${removed}, expected exactly ${expected} (the scores have no ties)`;
          if (removed < expected) return `removed ${removed}, expected at least ${expected}`;
          return null;
        }),
      );
    }
  }
  checks.push(
    await run('scores a masked model (ctx.masks with half the weights pruned): finite scores', async () => {
      const rng = new SeededRandom(seed, 'conformance/masks');
      const masks = Object.fromEntries(
        prunable.map((n) => [n, Float32Array.from(thetaT[n]!, () => (rng.uniform() < 0.5 ? 0 : 1))]),
      );
      const s = await pruner.score({ ...ctx, masks, round: 2, rounds: 2 });
      return scoreProblem(s, prunable, thetaT, true);
    }),
  );
  checks.push(
    await run('a two-round linear schedule rescores the masked model and reaches the target', async () => {
      const r = await buildMask(
        pruner,
        { model, weights: thetaT, initialWeights: theta0, batch, seed },
        { pruningRate: 0.6, schedule: 'linear', rounds: 2 },
      );
      return r.total - r.kept >= Math.floor(0.6 * total)
        ? null
        : `removed ${r.total - r.kept} of ${total}, expected at least ${Math.floor(0.6 * total)}`;
    }),
  );
  return checks;
}

/**
 * Throws an Error listing every failed check of {@link checkPrunerConformance}; use inside any test
 * framework: `await assertPrunerConforms(pruner)`.
 */
export async function assertPrunerConforms(pruner: Pruner, options: { seed?: number } = {}): Promise<void> {
  const failed = (await checkPrunerConformance(pruner, options)).filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(
      `pruner "${(pruner as Partial<Pruner> | undefined)?.name}" fails ${failed.length} conformance check(s):\n${failed.map((c) => `- ${c.name}: ${c.detail}`).join('\n')}`,
    );
  }
}
