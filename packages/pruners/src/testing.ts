/**
 * @grokking-tickets/pruners/testing — the conformance kit for pruner packages: one suite of contract
 * checks, run against any pruner (as tfjs runs its core suite against every backend). Framework
 * agnostic: `await assertPrunerConforms(pruner)` inside any test.
 */
import { SeededRandom, createModel, initialWeights, type Batch, type NamedArrays } from '@grokking-tickets/models';
import { buildMask } from './mask.js';
import type { Pruner, ScoringContext, Scores } from './types.js';

/** One contract check and its outcome. */
export interface ConformanceCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** A small fixed setting for the checks: a reduced reference MLP, θ0, a perturbed θ_t, token pairs. */
export function conformanceSetting(seed = 0) {
  const model = createModel('mlp', { vocab: 7, dEmb: 12, dModel: 8 });
  const theta0 = initialWeights(model, seed);
  const rng = new SeededRandom(seed, 'conformance/theta-t');
  const thetaT: NamedArrays = Object.fromEntries(Object.entries(theta0).map(([k, w]) => [k, w.map((x) => x + 0.5 * rng.normal() * Math.abs(x) + 0.01 * rng.normal())]));
  const a = Int32Array.from({ length: 20 }, (_, i) => i % 7);
  const b = Int32Array.from({ length: 20 }, (_, i) => (i * 3 + 1) % 7);
  const batch: Batch = { kind: 'pairs', a, b, labels: a.map((x, i) => (x + b[i]!) % 7) };
  return { model, theta0, thetaT, batch };
}

const safe = async (name: string, fn: () => Promise<string | null> | string | null): Promise<ConformanceCheck> => {
  try {
    const problem = await fn();
    return problem ? { name, ok: false, detail: problem } : { name, ok: true };
  } catch (e) {
    return { name, ok: false, detail: `threw: ${(e as Error).message}` };
  }
};

/**
 * Runs the contract checks: shape (name, description, needsData, score), scores for exactly the
 * prunable names with the right lengths and no NaN, determinism for a seed, masks that respect the
 * pruning rate (global and local, at 0, 0.3, 0.6, 0.9), 0/1 masks, and scoring a masked model
 * (round 2 of a schedule) without errors, with pruned weights staying pruned under magnitude-like
 * reuse of the masks.
 */
export async function checkPrunerConformance(pruner: Pruner, options: { seed?: number } = {}): Promise<ConformanceCheck[]> {
  const seed = options.seed ?? 0;
  const { model, theta0, thetaT, batch } = conformanceSetting(seed);
  const prunable = model.params.filter((p) => p.prunable).map((p) => p.name);
  const ones = Object.fromEntries(prunable.map((n) => [n, new Float32Array(thetaT[n]!.length).fill(1)]));
  const ctx: ScoringContext = { model, weights: thetaT, masks: ones, prunable, initialWeights: theta0, batch, seed, round: 1, rounds: 1 };
  const total = prunable.reduce((n, k) => n + thetaT[k]!.length, 0);
  const checks: ConformanceCheck[] = [];
  checks.push(
    await safe('has a name, description, needsData and score()', () =>
      typeof pruner.name === 'string' && pruner.name && typeof pruner.description === 'string' && typeof pruner.needsData === 'boolean' && typeof pruner.score === 'function'
        ? null
        : 'the pruner object does not have the Pruner shape',
    ),
  );
  let first: Scores | null = null;
  checks.push(
    await safe('scores every prunable parameter with the right length, no NaN', async () => {
      first = await pruner.score(ctx);
      for (const name of prunable) {
        const s = first[name];
        if (!s) return `no scores for "${name}"`;
        if (s.length !== thetaT[name]!.length) return `"${name}": ${s.length} scores for ${thetaT[name]!.length} weights`;
        for (let i = 0; i < s.length; i++) if (typeof s[i] !== 'number' || Number.isNaN(s[i]!)) return `"${name}"[${i}] is ${s[i]}`;
      }
      const extra = Object.keys(first).filter((k) => !prunable.includes(k));
      return extra.length ? `scores for parameters that were not asked for: ${extra.join(', ')}` : null;
    }),
  );
  checks.push(
    await safe('is deterministic for a seed', async () => {
      const again = await pruner.score(ctx);
      if (!first) return 'no first scores';
      for (const name of prunable) for (let i = 0; i < again[name]!.length; i++) if (!Object.is(again[name]![i], first[name]![i])) return `"${name}"[${i}] differs between two calls`;
      return null;
    }),
  );
  for (const scope of ['global', 'local'] as const) {
    for (const rate of [0, 0.3, 0.6, 0.9]) {
      checks.push(
        await safe(`${scope} mask at pruning rate ${rate} removes at least floor(rate·N) weights, 0/1 entries`, async () => {
          const r = await buildMask(pruner, { model, weights: thetaT, initialWeights: theta0, batch, seed }, { pruningRate: rate, scope });
          for (const m of Object.values(r.masks)) for (const v of m) if (v !== 0 && v !== 1) return `mask entry ${v}`;
          const expected = scope === 'global' ? Math.floor(rate * total) : prunable.reduce((n, k) => n + Math.floor(rate * thetaT[k]!.length), 0);
          const removed = r.total - r.kept;
          if (removed < expected) return `removed ${removed}, expected at least ${expected}`;
          if (rate === 0 && removed !== 0) return `rate 0 removed ${removed}`;
          // the rule allows extra removals only for ties at the threshold; flag gross over-pruning
          if (removed > expected && removed > Math.ceil(expected * 1.5) + 2) return `removed ${removed}, far more than ${expected} (too many tied scores?)`;
          return null;
        }),
      );
    }
  }
  checks.push(
    await safe('scores a masked model (round 2 of a linear schedule) and keeps the target count', async () => {
      const r = await buildMask(pruner, { model, weights: thetaT, initialWeights: theta0, batch, seed }, { pruningRate: 0.6, schedule: 'linear', rounds: 2 });
      return r.total - r.kept >= Math.floor(0.6 * total) ? null : `removed ${r.total - r.kept} of ${total}`;
    }),
  );
  return checks;
}

/** Throws an Error listing every failed check; use inside any test framework. */
export async function assertPrunerConforms(pruner: Pruner, options: { seed?: number } = {}): Promise<void> {
  const failed = (await checkPrunerConformance(pruner, options)).filter((c) => !c.ok);
  if (failed.length) throw new Error(`pruner "${pruner?.name}" fails ${failed.length} conformance check(s):\n${failed.map((c) => `- ${c.name}: ${c.detail}`).join('\n')}`);
}
