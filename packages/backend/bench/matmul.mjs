// Micro-benchmark: stock vs corrected BatchMatMul gradient (not a test).
//
//   npm run build -w @grokking-tickets/backend && node packages/backend/bench/matmul.mjs [wasm|cpu|tensorflow]
//
// Times (1) single products with and without transpose flags, and (2) a full gradient
// (tf.grads of a one-hidden-layer relu MLP's loss w.r.t. both weight matrices) with tfjs's own
// BatchMatMul gradient and with ours, on the shapes of the project's MLPs.
import { crossEntropy, initBackend, registerGradientFixes, tf } from '../dist/index.js';
import { restoreStockGradients } from '../dist/gradients/register.js';

const backend = process.argv[2] ?? 'wasm';
const choice = await initBackend(backend);
console.log(`backend: ${choice.name}${choice.notes.length ? ` (${choice.notes.join('; ')})` : ''}`);

/** Median wall time in ms of fn (which must return tensors to dispose), after warm-up. */
async function time(fn, reps = 15, warmup = 3) {
  for (let i = 0; i < warmup; i++) tf.dispose(fn());
  const samples = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    // Force completion on async backends too.
    await Promise.all([out].flat().map((t) => t.data()));
    samples.push(performance.now() - t0);
    tf.dispose(out);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rand = (shape) => tf.randomNormal(shape, 0, 1, 'float32', 1);

// (1) Kernel level: [m,k]ᵀ·[m,n] style products as the stock gradient issues them.
{
  const a = rand([1000, 784]);
  const dy = rand([1000, 200]);
  const flag = await time(() => tf.matMul(a, dy, true, false));
  const explicit = await time(() => tf.tidy(() => tf.matMul(tf.transpose(a), dy)));
  console.log(
    `Aᵀ·G  [784x1000]·[1000x200]: matMul(transposeA) ${flag.toFixed(2)} ms, transpose+matMul ${explicit.toFixed(2)} ms (${(flag / explicit).toFixed(1)}x)`,
  );
  const w = rand([784, 200]);
  const flagB = await time(() => tf.matMul(dy, w, false, true));
  const explicitB = await time(() => tf.tidy(() => tf.matMul(dy, tf.transpose(w))));
  console.log(
    `G·Bᵀ  [1000x200]·[200x784]: matMul(transposeB) ${flagB.toFixed(2)} ms, transpose+matMul ${explicitB.toFixed(2)} ms (${(flagB / explicitB).toFixed(1)}x)`,
  );
  tf.dispose([a, dy, w]);
}

// (2) A full gradient, stock vs corrected.
const models = [
  { name: 'mod-67 MLP (911 pairs, 134→48→67)', n: 911, d: 134, h: 48, c: 67 },
  { name: 'MNIST MLP (batch 1000, 784→200→10)', n: 1000, d: 784, h: 200, c: 10 },
];
for (const m of models) {
  const x = rand([m.n, m.d]);
  const t = tf.oneHot(tf.randomUniformInt([m.n], 0, m.c, 2), m.c).toFloat();
  const w1 = rand([m.d, m.h]).mul(1 / Math.sqrt(m.d));
  const w2 = rand([m.h, m.c]).mul(1 / Math.sqrt(m.h));
  const step = () => tf.grads((a, b) => crossEntropy(tf.matMul(tf.relu(tf.matMul(x, a)), b), t))([w1, w2]);
  restoreStockGradients();
  const stock = await time(step);
  registerGradientFixes();
  const fixed = await time(step);
  console.log(
    `${m.name}: gradient stock ${stock.toFixed(2)} ms, corrected ${fixed.toFixed(2)} ms (${(stock / fixed).toFixed(1)}x)`,
  );
  tf.dispose([x, t, w1, w2]);
}
