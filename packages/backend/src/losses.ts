import * as tf from '@tensorflow/tfjs-core';

/**
 * Row-wise maximum (kept as an [n, 1] column) with a zero gradient, i.e. treated as a constant by
 * autodiff. Used as the shift of a log-sum-exp: the value of m + log Σ exp(x − m) does not depend on
 * m, so its derivatives (of every order) with m held constant are the exact derivatives, and no
 * `Max` gradient (whose stock form needs `Equal` at second order) is ever on the tape.
 */
const rowMaxNoGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor2D;
  return {
    value: tf.max(x, 1, true),
    gradFunc: () => tf.zeros(x.shape, 'float32'),
  };
}) as (x: tf.Tensor2D) => tf.Tensor2D;

function assertRank2(t: tf.Tensor, name: string, fn: string): void {
  if (t.rank !== 2) throw new Error(`${fn}: ${name} must be rank 2 [rows, classes], got shape [${t.shape.join(', ')}]`);
}

/**
 * Row-wise log-sum-exp, `lse_i = log Σ_j exp(logits_ij)`, computed as
 * `m_i + log Σ_j exp(logits_ij − m_i)` with `m_i = max_j logits_ij` (held constant for autodiff), so it
 * never overflows and is exact to float32 rounding for any logits. Twice (indeed arbitrarily)
 * differentiable with correct second derivatives once {@link registerGradientFixes} has run: only
 * `Sub`, `Exp`, `Sum`, `Log`, `Add` and `Reshape` are on the tape.
 *
 * @param logits [rows, classes].
 * @returns [rows].
 */
export function logSumExp(logits: tf.Tensor2D): tf.Tensor1D {
  assertRank2(logits, 'logits', 'logSumExp');
  return tf.tidy(() => {
    const m = rowMaxNoGrad(logits);
    const lseShifted = tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1));
    return tf.add(tf.reshape(m, [logits.shape[0]]), lseShifted) as tf.Tensor1D;
  });
}

/**
 * Mean cross-entropy of rows of logits against one-hot (or soft) targets:
 * `mean_i [ logsumexp(logits_i) − Σ_j targets_ij · logits_ij ]`.
 *
 * Computed in float32 (tfjs has no float64) with the row maximum m_i subtracted first:
 * `mean_i [ log Σ_j exp(l_ij − m_i) − Σ_j t_ij (l_ij − m_i) + m_i (1 − Σ_j t_ij) ]`, which is the same
 * function for any targets (the last term is exactly 0 for one-hot rows), but never forms the large
 * `lse_i` and `t·l_i` separately, so there is no cancellation when logits are huge (1e4 gives a finite
 * loss accurate to float32 rounding, and finite gradients). The reference implementation computes a
 * float64 log-softmax; here the loss carries a relative error of about 1e-7 (a few float32 ulps),
 * e.g. ~1e-7 absolute for a loss of order 1, and gradients agree with float64 to ~1e-6 relative.
 *
 * Gradient w.r.t. logits: `(softmax(logits) − targets) / rows`. Twice differentiable with correct
 * second derivatives (requires {@link registerGradientFixes}, which {@link initBackend} runs).
 *
 * @param logits [rows, classes].
 * @param targets [rows, classes], one-hot or probabilities (rows summing to 1).
 * @example
 * const logits = tf.tensor2d([[2, 0, -1], [0, 3, 0]]);
 * const targets = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
 * crossEntropy(logits, targets).dataSync()[0];   // mean −log softmax(logits)[label]
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  assertRank2(logits, 'logits', 'crossEntropy');
  assertRank2(targets, 'targets', 'crossEntropy');
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(
      `crossEntropy: logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape`,
    );
  }
  return tf.tidy(() => {
    const t = tf.cast(targets, 'float32');
    const m = rowMaxNoGrad(logits);
    const shifted = tf.sub(logits, m);
    const lseShifted = tf.log(tf.sum(tf.exp(shifted), 1));
    const targetTerm = tf.sum(tf.mul(t, shifted), 1);
    const massCorrection = tf.mul(tf.reshape(m, [logits.shape[0]]), tf.sub(tf.scalar(1), tf.sum(t, 1)));
    return tf.mean(tf.add(tf.sub(lseShifted, targetTerm), massCorrection)) as tf.Scalar;
  });
}

/**
 * The same mean cross-entropy as {@link crossEntropy} for one-hot targets, with a hand-written
 * first-order gradient: for training steps only (not differentiable again; GraSP and other
 * second-order users must call `crossEntropy`).
 *
 * Why: (1) speed — on WASM the `Exp` kernel costs ~4x a whole `Softmax`, and the second-order form
 * runs `Exp` twice per step; here one `Softmax` serves value and gradient. (2) precision in the
 * memorised regime, where grokking happens: with train losses near 1e-7 the correct-class
 * probability p_c rounds to 1 − k·6e-8 in float32, so the textbook gradient p_c − 1 is quantised
 * (up to ~60 % off) and the row's gradients no longer sum to zero. The reference avoids this by a
 * float64 log-softmax. Here the correct-class term is computed as −Σ_{j≠c} p_j, a sum of small,
 * accurately represented probabilities, which is exactly p_c − 1 in real arithmetic; likewise the
 * loss of a row whose label is the arg-max is −log1p(−Σ_{j≠c} p_j) instead of −log(p_c).
 *
 * @param logits [rows, classes].
 * @param targets [rows, classes], one-hot rows.
 */
export function crossEntropyFirstOrder(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  assertRank2(logits, 'logits', 'crossEntropyFirstOrder');
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(
      `crossEntropyFirstOrder: logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape`,
    );
  }
  const rows = logits.shape[0];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const p = tf.softmax(x);
    const others = tf.mul(p, tf.sub(1, targets)); // p_j for j ≠ label
    const missing = tf.sum(others, 1); // 1 − p_label, from small terms only
    const m = tf.max(x, 1);
    const xLabel = tf.sum(tf.mul(x, targets), 1);
    // label is the arg-max: −log p_c = −log1p(−q) with q = Σ_{j≠c} p_j, accurate for tiny q;
    // otherwise (m − x_c) + log Σ exp(x − m) = (m − x_c) − log max p, never under/overflowing.
    // (tfjs's log1p forms 1 + x in float32, so the series is used for small q: error < q⁴/4.)
    const q = tf.minimum(missing, 0.5);
    const confident = tf.where(
      tf.less(q, 0.01),
      tf.mul(q, tf.add(1, tf.mul(q, tf.add(0.5, tf.div(q, 3))))),
      tf.neg(tf.log(tf.sub(1, q))),
    );
    const general = tf.sub(tf.sub(m, xLabel), tf.log(tf.max(p, 1)));
    const perRow = tf.where(tf.greaterEqual(xLabel, m), confident, general);
    save([others, missing]);
    return {
      value: tf.div(tf.sum(perRow), rows) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [o, miss] = saved as [tf.Tensor2D, tf.Tensor1D];
        const g = tf.sub(o, tf.mul(targets, tf.reshape(miss, [rows, 1])));
        return tf.mul(dy as tf.Tensor, tf.div(g, rows));
      },
    };
  }) as (x: tf.Tensor2D) => tf.Scalar;
  return f(logits);
}

/**
 * Mean squared error over all entries, `mean((outputs − targets)²)` (the MNIST loss of the
 * reference). Shapes must match exactly (no silent broadcasting).
 */
export function meanSquaredError(outputs: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  if (!tf.util.arraysEqual(outputs.shape, targets.shape)) {
    throw new Error(
      `meanSquaredError: outputs [${outputs.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape`,
    );
  }
  return tf.tidy(() => tf.mean(tf.squaredDifference(outputs, tf.cast(targets, 'float32'))) as tf.Scalar);
}

function assertStacked(logits: tf.Tensor, targets: tf.Tensor, fn: string): void {
  if (logits.rank !== 3 || !tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(
      `${fn}: logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must both be [runs, rows, classes]`,
    );
  }
}

/**
 * {@link crossEntropy} of K runs at once: logits and targets [K, rows, classes], one mean loss per
 * run ([K]). The same float32 operations per run as `crossEntropy` of that run alone (so the same
 * values bit for bit on a backend whose reductions sum in the same order). For evaluation: its
 * values only are used (no second-order guarantee is made for it).
 */
export function crossEntropyStacked(logits: tf.Tensor3D, targets: tf.Tensor3D): tf.Tensor1D {
  assertStacked(logits, targets, 'crossEntropyStacked');
  return tf.tidy(() => {
    const [k, rows, classes] = logits.shape;
    // Row-wise work on [K·rows, classes] (tfjs-wasm's reductions are slow on the last axis of 3-D).
    const x = tf.reshape(logits, [k * rows, classes]);
    const t = tf.cast(tf.reshape(targets, [k * rows, classes]), 'float32');
    const m = tf.max(x, 1, true);
    const shifted = tf.sub(x, m);
    const lseShifted = tf.log(tf.sum(tf.exp(shifted), 1));
    const targetTerm = tf.sum(tf.mul(t, shifted), 1);
    const massCorrection = tf.mul(tf.reshape(m, [k * rows]), tf.sub(tf.scalar(1), tf.sum(t, 1)));
    return tf.mean(tf.reshape(tf.add(tf.sub(lseShifted, targetTerm), massCorrection), [k, rows]), 1) as tf.Tensor1D;
  });
}

/**
 * {@link crossEntropyFirstOrder} of K runs at once: logits and targets [K, rows, classes] (one-hot
 * rows), one mean loss per run ([K]), with the same hand-written first-order gradient. Run r's loss
 * and gradient are those of `crossEntropyFirstOrder` on run r alone (same operations per run), and
 * the gradient of a sum of the K losses with respect to run r's logits is run r's gradient alone.
 */
export function crossEntropyFirstOrderStacked(logits: tf.Tensor3D, targets: tf.Tensor3D): tf.Tensor1D {
  assertStacked(logits, targets, 'crossEntropyFirstOrderStacked');
  const [k, rows, classes] = logits.shape;
  // Row-wise work on [K·rows, classes] (tfjs-wasm's reductions are slow on the last axis of 3-D).
  const t = tf.reshape(targets, [k * rows, classes]);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = tf.reshape(args[0] as tf.Tensor3D, [k * rows, classes]);
    const save = args[1] as tf.GradSaveFunc;
    const p = tf.softmax(x);
    const others = tf.mul(p, tf.sub(1, t));
    const missing = tf.sum(others, 1);
    const m = tf.max(x, 1);
    const xLabel = tf.sum(tf.mul(x, t), 1);
    const q = tf.minimum(missing, 0.5);
    const confident = tf.where(
      tf.less(q, 0.01),
      tf.mul(q, tf.add(1, tf.mul(q, tf.add(0.5, tf.div(q, 3))))),
      tf.neg(tf.log(tf.sub(1, q))),
    );
    const general = tf.sub(tf.sub(m, xLabel), tf.log(tf.max(p, 1)));
    const perRow = tf.reshape(tf.where(tf.greaterEqual(xLabel, m), confident, general), [k, rows]);
    save([others, missing]);
    return {
      value: tf.div(tf.sum(perRow, 1), rows) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [o, miss] = saved as [tf.Tensor2D, tf.Tensor1D];
        const g = tf.reshape(tf.sub(o, tf.mul(t, tf.reshape(miss, [k * rows, 1]))), [k, rows, classes]);
        return tf.mul(tf.reshape(dy as tf.Tensor, [k, 1, 1]), tf.div(g, rows));
      },
    };
  }) as (x: tf.Tensor3D) => tf.Tensor1D;
  return f(logits);
}

/** {@link meanSquaredError} of K runs at once: outputs and targets [K, ...], one mean per run ([K]). */
export function meanSquaredErrorStacked(outputs: tf.Tensor, targets: tf.Tensor): tf.Tensor1D {
  if (!tf.util.arraysEqual(outputs.shape, targets.shape) || outputs.rank < 2) {
    throw new Error(
      `meanSquaredErrorStacked: outputs [${outputs.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape [runs, ...]`,
    );
  }
  return tf.tidy(() => {
    const k = outputs.shape[0];
    return tf.mean(tf.reshape(tf.squaredDifference(outputs, tf.cast(targets, 'float32')), [k, -1]), 1) as tf.Tensor1D;
  });
}
