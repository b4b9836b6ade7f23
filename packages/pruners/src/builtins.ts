import * as tf from '@tensorflow/tfjs';
import { hessianVectorProduct, crossEntropy, meanSquaredError } from '@grokking-tickets/backend';
import { SeededRandom, disposeBatch, toTensors, type GrokModel, type NamedTensors, type PreparedBatch } from '@grokking-tickets/models';
import { PrunerError } from './errors.js';
import type { Pruner, ScoringContext, Scores } from './types.js';

/** Gives pruner authors the type and checks the shape (changesets-style plug-in contract). */
export function definePruner(pruner: Pruner): Pruner {
  const problem = prunerShapeProblem(pruner);
  if (problem) throw new PrunerError(`definePruner: ${problem}`);
  return pruner;
}

/** Why a value is not a Pruner, or null when it is one. */
export function prunerShapeProblem(p: unknown): string | null {
  if (!p || typeof p !== 'object') return 'not an object';
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return 'missing a string "name"';
  if (typeof o.score !== 'function') return `pruner "${o.name}" has no score(ctx) function`;
  if (typeof o.needsData !== 'boolean') return `pruner "${o.name}" must say whether it needsData (boolean)`;
  if (typeof o.description !== 'string') return `pruner "${o.name}" has no description`;
  return null;
}

// Runs fn with the scoring batch prepared as tensors and the effective weights of the prunable
// parameters as the differentiation variables (other parameters held fixed).
function withTensors<T>(ctx: ScoringContext, transform: (w: Float32Array, name: string) => Float32Array, fn: (model: GrokModel, batch: PreparedBatch, eff: NamedTensors) => T): T {
  if (!ctx.batch) throw new PrunerError('this pruner needs scoring data (the training set)');
  const batch = ctx.model.prepare(ctx.batch);
  try {
    // tidy frees every intermediate tensor; the result is plain arrays, returned through a closure.
    let result!: T;
    tf.tidy(() => {
      const eff: NamedTensors = {};
      const arrays: Record<string, Float32Array> = {};
      for (const p of ctx.model.params) {
        const raw = ctx.weights[p.name]!;
        const m = ctx.masks[p.name];
        const t = transform(raw, p.name);
        arrays[p.name] = m ? t.map((x, i) => x * m[i]!) : t;
      }
      Object.assign(eff, toTensors(ctx.model, arrays));
      result = fn(ctx.model, batch, eff);
    });
    return result;
  } finally {
    disposeBatch(batch);
  }
}

// Gradient of f with respect to the prunable effective weights, as arrays.
function gradsOf(ctx: ScoringContext, eff: NamedTensors, f: (w: NamedTensors) => tf.Scalar): Record<string, Float32Array> {
  const names = ctx.prunable;
  const grads = tf.grads((...xs: tf.Tensor[]) => f({ ...eff, ...Object.fromEntries(names.map((n, i) => [n, xs[i]!])) }))(names.map((n) => eff[n]!));
  return Object.fromEntries(names.map((n, i) => [n, grads[i]!.dataSync() as Float32Array]));
}

const lossOf = (model: GrokModel, batch: PreparedBatch, w: NamedTensors, temperature = 1): tf.Scalar => {
  const logits = model.forward(w, batch);
  const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
  return model.loss === 'mse' ? meanSquaredError(scaled, batch.targets) : crossEntropy(scaled as tf.Tensor2D, batch.targets);
};

const identity = (w: Float32Array) => w;

/** Random scores: i.i.d. standard normal, seeded per (seed, tensor, round); independent of the weights. */
export const randomPruner = definePruner({
  name: 'random',
  description: 'i.i.d. N(0, 1) scores (seeded); with a global threshold removes about the same fraction from every tensor',
  needsData: false,
  score(ctx) {
    const out: Scores = {};
    for (const name of ctx.prunable) {
      const rng = new SeededRandom(ctx.seed, `random-pruner/${name}/${ctx.round}`);
      out[name] = Float64Array.from({ length: ctx.weights[name]!.length }, () => rng.normal());
    }
    return out;
  },
});

/** Magnitude: |W| of the raw stored parameter (the grokking-ticket criterion). */
export const magnitudePruner = definePruner({
  name: 'magnitude',
  description: '|W| of the raw weights; pruning the final dense weights gives the grokking ticket',
  needsData: false,
  score(ctx) {
    return Object.fromEntries(ctx.prunable.map((name) => [name, Float64Array.from(ctx.weights[name]!, Math.abs)]));
  },
});

/**
 * SNIP (Lee et al. 2019): S = |∂L/∂M| = |W ⊙ ∂L/∂(W⊙M)| with L the mean training loss of the masked
 * model, normalised to sum to 1 over all scored weights. Uses the raw W, so a pruned weight can be
 * revived in a later round (as the reference).
 */
export const snipPruner = definePruner({
  name: 'snip',
  description: 'connection sensitivity |W ⊙ ∂L/∂(W⊙M)|, normalised to sum 1',
  needsData: true,
  score(ctx) {
    const g = withTensors(ctx, identity, (model, batch, eff) => gradsOf(ctx, eff, (w) => lossOf(model, batch, w)));
    const out: Scores = {};
    let sum = 0;
    for (const name of ctx.prunable) {
      const w = ctx.weights[name]!;
      const s = Float64Array.from(g[name]!, (x, i) => Math.abs(x * w[i]!));
      for (const v of s) sum += v;
      out[name] = s;
    }
    for (const name of ctx.prunable) out[name] = (out[name] as Float64Array).map((x) => x / sum);
    return out;
  },
});

/**
 * GraSP (Wang et al. 2020) as the reference computes it: temperature T = 200, g = ∂L_T/∂W (held
 * constant), Hg = ∂/∂W [g · ∂L_T/∂W], S = W ⊙ Hg (signed), normalised by |Σ S| + 1e-10. The lowest
 * scores are pruned (the reference's comment mentions a negation that it does not apply). Gradients
 * are taken through W ⊙ M, so pruned weights score 0.
 */
export const graspPruner = definePruner({
  name: 'grasp',
  description: 'gradient signal preservation: W ⊙ Hg with temperature 200 (signed, lowest pruned)',
  needsData: true,
  score(ctx) {
    const T = 200;
    const hg = withTensors(ctx, identity, (model, batch, eff) => {
      const names = ctx.prunable;
      const f = (xs: tf.Tensor[]) => lossOf(model, batch, { ...eff, ...Object.fromEntries(names.map((n, i) => [n, xs[i]!])) }, T);
      const params = names.map((n) => eff[n]!);
      const g = tf.grads((...xs: tf.Tensor[]) => f(xs))(params);
      const hv = hessianVectorProduct(f, params, g);
      return Object.fromEntries(names.map((n, i) => [n, hv[i]!.dataSync() as Float32Array]));
    });
    const out: Scores = {};
    let sum = 0;
    for (const name of ctx.prunable) {
      const w = ctx.weights[name]!;
      const m = ctx.masks[name];
      const s = Float64Array.from(hg[name]!, (x, i) => x * w[i]! * (m ? m[i]! : 1));
      for (const v of s) sum += v;
      out[name] = s;
    }
    const denom = Math.abs(sum) + 1e-10;
    for (const name of ctx.prunable) out[name] = (out[name] as Float64Array).map((x) => x / denom);
    return out;
  },
});

/**
 * SynFlow (Tanaka et al. 2020): every weight replaced by |W| (masks kept), the training inputs fed
 * (an embedding lookup has no all-ones input), R = sum of all outputs, S = |W ⊙ M ⊙ ∂R/∂(|W|⊙M)|.
 * Data-free in spirit; one round by default (the paper iterates 100 exponential rounds:
 * `rounds: 100, schedule: 'exponential'`).
 */
export const synflowPruner = definePruner({
  name: 'synflow',
  description: 'synaptic flow |W ⊙ ∂R/∂W| on the |W| network, R = sum of outputs',
  needsData: true,
  score(ctx) {
    const g = withTensors(ctx, (w) => w.map(Math.abs), (model, batch, eff) => gradsOf(ctx, eff, (w) => tf.sum(model.forward(w, batch)) as tf.Scalar));
    const out: Scores = {};
    for (const name of ctx.prunable) {
      const w = ctx.weights[name]!;
      const m = ctx.masks[name];
      out[name] = Float64Array.from(g[name]!, (x, i) => Math.abs(x * w[i]! * (m ? m[i]! : 1)));
    }
    return out;
  },
});

/** The pruners of the reference implementation, in its order. */
export const BUILTIN_PRUNERS: readonly Pruner[] = [randomPruner, magnitudePruner, snipPruner, graspPruner, synflowPruner];
