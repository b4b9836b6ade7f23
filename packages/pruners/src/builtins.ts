import { hessianVectorProduct, tf } from '@grokking-tickets/backend';
import {
  SeededRandom,
  disposeBatch,
  modelLoss,
  toTensors,
  type GrokModel,
  type NamedArrays,
  type NamedTensors,
  type PreparedBatch,
} from '@grokking-tickets/models';
import { PrunerError } from './errors.js';
import type { Pruner, ScoringContext, Scores } from './types.js';

/**
 * Gives pruner authors the `Pruner` type (like changesets' plug-in helpers) and checks the shape:
 * a non-empty string `name`, a string `description`, a boolean `needsData`, an optional boolean
 * `needsInitialWeights` and a `score(ctx)` function. Returns its argument unchanged.
 *
 * @throws PrunerError with one line naming what is missing.
 * @example
 * // my-pruner.mjs: prune the weights closest to zero at initialisation
 * export default definePruner({
 *   name: 'init-magnitude',
 *   description: '|θ0|',
 *   needsData: false,
 *   needsInitialWeights: true,
 *   score: (ctx) => Object.fromEntries(ctx.prunable.map((n) => [n, ctx.initialWeights[n].map(Math.abs)])),
 * });
 */
export function definePruner(pruner: Pruner): Pruner {
  const problem = prunerShapeProblem(pruner);
  if (problem) throw new PrunerError(`definePruner: ${problem}`);
  return pruner;
}

/** Why a value is not a Pruner, or null when it is one. */
export function prunerShapeProblem(p: unknown): string | null {
  if (!p || typeof p !== 'object') return `not a pruner object (got ${p === null ? 'null' : typeof p})`;
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return 'missing a non-empty string "name"';
  if (typeof o.score !== 'function') return `pruner "${o.name}" has no score(ctx) function`;
  if (typeof o.needsData !== 'boolean') return `pruner "${o.name}" must say whether it needsData (boolean)`;
  if (typeof o.description !== 'string') return `pruner "${o.name}" has no string "description"`;
  if (o.needsInitialWeights !== undefined && typeof o.needsInitialWeights !== 'boolean')
    return `pruner "${o.name}": needsInitialWeights must be a boolean`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Shared machinery of the data-dependent pruners

/**
 * Runs `fn` inside one `tf.tidy` with the scoring batch prepared by the model (disposed after) and
 * the weights uploaded as tensors: `raw` holds `transform(W)` for every parameter, `masks` the
 * current mask of every prunable parameter. Returns whatever plain arrays `fn` extracts.
 */
function withScoringTensors<T>(
  ctx: ScoringContext,
  pruner: string,
  transform: (w: Float32Array) => Float32Array,
  fn: (raw: NamedTensors, masks: NamedTensors, batch: PreparedBatch) => T,
): T {
  if (!ctx.batch) throw new PrunerError(`pruner "${pruner}" needs scoring data (ctx.batch: the training set)`);
  const batch = ctx.model.prepare(ctx.batch);
  try {
    let result!: T;
    tf.tidy(() => {
      const arrays: NamedArrays = {};
      for (const p of ctx.model.params) arrays[p.name] = transform(ctx.weights[p.name]!);
      const masks: NamedArrays = {};
      for (const name of Object.keys(ctx.masks)) if (arrays[name]) masks[name] = ctx.masks[name]!;
      result = fn(toTensors(ctx.model, arrays), toTensors(ctx.model, masks), batch);
    });
    return result;
  } finally {
    disposeBatch(batch);
  }
}

/** Effective weights W ⊙ M with the prunable ones replaced by `xs` (still multiplied by their masks). */
function effective(raw: NamedTensors, masks: NamedTensors, names: string[], xs?: tf.Tensor[]): NamedTensors {
  const out: NamedTensors = {};
  for (const [name, w] of Object.entries(raw)) {
    const i = xs ? names.indexOf(name) : -1;
    const base = i >= 0 ? xs![i]! : w;
    out[name] = masks[name] ? tf.mul(base, masks[name]) : base;
  }
  return out;
}

/** Gradients of f at xs, with zeros (not an error) for inputs f does not depend on. */
function gradients(f: (xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[]): tf.Tensor[] {
  const { grads } = tf.engine().gradients(() => f(xs), xs, undefined, true);
  return xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
}

/** The model with its logits divided by a temperature (so `modelLoss` applies the model's own loss). */
function tempered(model: GrokModel, temperature: number): GrokModel {
  return { ...model, forward: (w, b) => tf.div(model.forward(w, b), temperature) as tf.Tensor2D };
}

const arraysOf = (names: string[], ts: tf.Tensor[]): Record<string, Float32Array> =>
  Object.fromEntries(names.map((n, i) => [n, ts[i]!.dataSync() as Float32Array]));

const identity = (w: Float32Array) => w;

// ---------------------------------------------------------------------------------------------
// The reference's pruners (protocol §5.2)

/**
 * Random: i.i.d. standard normal scores, independent of the weights, deterministic for
 * (ctx.seed, parameter name, round) (the reference draws them unseeded). With a global threshold it
 * removes about the same fraction from every tensor.
 */
export const randomPruner = definePruner({
  name: 'random',
  description:
    'i.i.d. N(0, 1) scores (seeded); with a global threshold removes about the same fraction from every tensor',
  needsData: false,
  score(ctx) {
    const out: Scores = {};
    for (const name of ctx.prunable) {
      const rng = new SeededRandom(ctx.seed, `random-pruner/${name}/${ctx.round}`);
      const s = new Float64Array(ctx.weights[name]!.length);
      for (let i = 0; i < s.length; i++) s[i] = rng.normal();
      out[name] = s;
    }
    return out;
  },
});

/** Magnitude: |W| of the raw stored parameter (not W ⊙ M), the grokking-ticket criterion. */
export const magnitudePruner = definePruner({
  name: 'magnitude',
  description: '|W| of the raw weights; pruning the final dense weights gives the grokking ticket',
  needsData: false,
  score(ctx) {
    return Object.fromEntries(ctx.prunable.map((name) => [name, Float64Array.from(ctx.weights[name]!, Math.abs)]));
  },
});

/**
 * SNIP's connection sensitivity before normalisation: |W ⊙ ∂L/∂(W⊙M)| = |∂L/∂M|, with L the
 * model's loss (`modelLoss`: mean cross-entropy, MSE for mnist-mlp) of the masked model on ctx.batch.
 * The raw W (not W ⊙ M) multiplies the gradient, so a weight pruned in an earlier round can score
 * above zero and be revived, as in the reference. Exported for tests.
 */
export function snipSaliency(ctx: ScoringContext): Record<string, Float64Array> {
  const names = ctx.prunable;
  const g = withScoringTensors(ctx, 'snip', identity, (raw, masks, batch) => {
    const eff = effective(raw, masks, names);
    // differentiate with respect to the effective weights themselves
    const f = (xs: tf.Tensor[]) =>
      modelLoss(ctx.model, { ...eff, ...Object.fromEntries(names.map((n, i) => [n, xs[i]!])) }, batch, {
        firstOrder: true,
      });
    return arraysOf(
      names,
      gradients(
        f,
        names.map((n) => eff[n]!),
      ),
    );
  });
  return Object.fromEntries(
    names.map((name) => [name, Float64Array.from(g[name]!, (x, i) => Math.abs(x * ctx.weights[name]![i]!))]),
  );
}

/**
 * SNIP (Lee, Ajanthan & Torr 2019): S = |W ⊙ ∂L/∂(W⊙M)| (see `snipSaliency`), normalised
 * globally: S / Σ over every scored tensor of S. The Transformer is scored on its last-position
 * logits (the reference crashes there; protocol §5.6).
 */
export const snipPruner = definePruner({
  name: 'snip',
  description: 'connection sensitivity |W ⊙ ∂L/∂(W⊙M)| with the training loss, normalised to sum 1',
  needsData: true,
  score(ctx) {
    const s = snipSaliency(ctx);
    let sum = 0;
    for (const name of ctx.prunable) for (const v of s[name]!) sum += v;
    return Object.fromEntries(ctx.prunable.map((name) => [name, s[name]!.map((x) => x / sum)]));
  },
});

/** GraSP's temperature (the reference's `temp = 200`). */
export const GRASP_TEMPERATURE = 200;

/**
 * GraSP's Hessian-gradient product Hg = ∂/∂W [ Σ g · ∂L_T/∂W ] with g = ∂L_T/∂W held constant,
 * L_T = the model's loss on logits / 200, and W the raw weights entering the model as W ⊙ M (so
 * ∂L_T/∂W = M ⊙ ∂L_T/∂(W⊙M), and pruned entries of Hg are 0). Uses the backend's
 * `hessianVectorProduct` (double backward through gradients that are correct at second order).
 * Exported for tests.
 */
export function graspHessianGradient(ctx: ScoringContext): Record<string, Float32Array> {
  const names = ctx.prunable;
  const model = tempered(ctx.model, GRASP_TEMPERATURE);
  return withScoringTensors(ctx, 'grasp', identity, (raw, masks, batch) => {
    const f = (xs: tf.Tensor[]) => modelLoss(model, effective(raw, masks, names, xs), batch);
    const w = names.map((n) => raw[n]!);
    const g = gradients(f, w); // first pass; plain tensors, so constant in the second pass
    return arraysOf(names, hessianVectorProduct(f, w, g));
  });
}

/**
 * GraSP (Wang, Zhang & Grosse 2020) as the reference computes it: S = W ⊙ Hg (see
 * `graspHessianGradient`), signed, normalised by |Σ S| + 1e-10 (sign kept). The lowest scores
 * are pruned: the reference's comment mentions a negation it does not apply (protocol §9 row 10). The
 * Transformer is scored on its last-position logits (protocol §5.6).
 */
export const graspPruner = definePruner({
  name: 'grasp',
  description: 'gradient signal preservation: W ⊙ Hg with temperature 200 (signed, lowest pruned)',
  needsData: true,
  score(ctx) {
    const hg = graspHessianGradient(ctx);
    const out: Record<string, Float64Array> = {};
    let sum = 0;
    for (const name of ctx.prunable) {
      const w = ctx.weights[name]!;
      const s = Float64Array.from(hg[name]!, (x, i) => x * w[i]!);
      for (const v of s) sum += v;
      out[name] = s;
    }
    const denom = Math.abs(sum) + 1e-10;
    for (const name of ctx.prunable) out[name] = out[name]!.map((x) => x / denom);
    return out;
  },
});

/**
 * SynFlow (Tanaka, Kunin, Yamins & Ganguli 2020): every weight replaced by |W| (masks unchanged),
 * ctx.batch fed (real token pairs: an embedding lookup has no "all-ones input", protocol §5.2),
 * R = sum of all logits, S = |W ⊙ ∂R/∂W| (∂R/∂W = M ⊙ ∂R/∂(W⊙M), so pruned weights score 0 and stay
 * pruned). One round by default; the paper's 100 rounds are `{ rounds: 100, schedule: 'exponential' }`.
 */
export const synflowPruner = definePruner({
  name: 'synflow',
  description: 'synaptic flow |W ⊙ ∂R/∂W| on the |W| network, R = sum of the outputs on the training inputs',
  needsData: true,
  score(ctx) {
    const names = ctx.prunable;
    const abs = (w: Float32Array) => w.map(Math.abs);
    const g = withScoringTensors(ctx, 'synflow', abs, (raw, masks, batch) => {
      const f = (xs: tf.Tensor[]) => tf.sum(ctx.model.forward(effective(raw, masks, names, xs), batch)) as tf.Scalar;
      return arraysOf(
        names,
        gradients(
          f,
          names.map((n) => raw[n]!),
        ),
      );
    });
    return Object.fromEntries(
      names.map((name) => [name, Float64Array.from(g[name]!, (x, i) => Math.abs(x * ctx.weights[name]![i]!))]),
    );
  },
});

/** The pruners of the reference implementation, in its order. */
export const BUILTIN_PRUNERS: readonly Pruner[] = [
  randomPruner,
  magnitudePruner,
  snipPruner,
  graspPruner,
  synflowPruner,
];
