import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  crossEntropyFirstOrder,
  crossEntropyFirstOrderStacked,
  initBackend,
  meanSquaredError,
  meanSquaredErrorStacked,
  tf,
} from '@grokking-tickets/backend';
import {
  createModel,
  disposeBatch,
  disposeStackedBatch,
  initialWeights,
  type Batch,
  type GrokModel,
  type NamedArrays,
} from '@grokking-tickets/models';
import { loadCheckpoint } from '@grokking-tickets/run-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  NonFiniteError,
  PAPER_ADAMW,
  StackedTrainer,
  Trainer,
  getTask,
  resolveTaskConfig,
  runStack,
  runTraining,
  type AdamWOptions,
  type EvalRow,
  type StackMember,
  type TrainConfigInput,
} from '../src/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-stack-'));
const readRows = (dir: string): EvalRow[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalRow);

/** Small versions of the three paper models, each with data for several seeds. */
function smallCase(kind: 'mlp' | 'transformer' | 'mnist-mlp'): {
  model: GrokModel;
  data: (seed: number) => { train: Batch; test: Batch };
} {
  if (kind === 'mnist-mlp') {
    // Synthetic sparse "images" (no MNIST files needed): ~25 % non-zero pixels, 10 classes.
    const model = createModel('mnist-mlp', { inputDim: 36, width: 12, classes: 10, weightScale: 2 });
    const images = (seed: number, n: number): Batch => {
      let s = seed * 7919 + n;
      const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
      const x = new Float32Array(n * 36).map(() => (rnd() < 0.25 ? Math.round(rnd() * 255) / 255 : 0));
      return {
        kind: 'images',
        images: x,
        dim: 36,
        labels: Int32Array.from({ length: n }, () => Math.floor(rnd() * 10)),
      };
    };
    return { model, data: (seed) => ({ train: images(seed, 40), test: images(seed + 100, 30) }) };
  }
  const task = resolveTaskConfig({ name: 'modular', p: 11, trainFraction: 0.5 });
  const model =
    kind === 'mlp'
      ? createModel('mlp', { vocab: 11, dEmb: 24, dModel: 10 })
      : createModel('transformer', { vocab: 11, dModel: 16, dHead: 16, dMlp: 16 });
  return { model, data: (seed) => getTask('modular').load(task, seed) };
}

/** Run i of the test stacks: its own seed, mask pattern, learning rate and weight decay. */
function member(model: GrokModel, data: (seed: number) => { train: Batch; test: Batch }, i: number): StackMember {
  const seed = 10 + i;
  const masks: NamedArrays | undefined =
    i % 2 === 1
      ? Object.fromEntries(
          model.params.map((p) => [
            p.name,
            Float32Array.from({ length: p.shape.reduce((a, b) => a * b) }, (_, j) => ((j * 7 + i) % 5 === 0 ? 0 : 1)),
          ]),
        )
      : undefined;
  const optimizer: AdamWOptions = { ...PAPER_ADAMW, lr: 0.003 * (1 + (i % 3)), weightDecay: i % 2 ? 0.5 : 1 };
  return { weights: initialWeights(model, seed), masks, optimizer, ...data(seed) };
}

function soloRows(model: GrokModel, m: StackMember, steps: number): { rows: EvalRow[]; weights: NamedArrays } {
  const t = new Trainer({
    model,
    weights: m.weights,
    masks: m.masks,
    optimizer: m.optimizer,
    train: m.train,
    test: m.test,
  });
  try {
    const rows = [t.evaluate()];
    for (let s = 0; s < steps; s++) {
      t.step();
      if (s % 3 === 2) rows.push(t.evaluate());
    }
    return { rows, weights: t.getWeights() };
  } finally {
    t.dispose();
  }
}

function stackRows(
  model: GrokModel,
  members: StackMember[],
  steps: number,
): { rows: EvalRow[][]; weights: NamedArrays[] } {
  const t = new StackedTrainer({ model, members });
  try {
    const rows: EvalRow[][] = members.map(() => []);
    const push = () => t.evaluate().forEach((r, i) => rows[i]!.push(r));
    push();
    for (let s = 0; s < steps; s++) {
      t.step();
      if (s % 3 === 2) push();
    }
    return { rows, weights: members.map((_, i) => t.getWeights(i)) };
  } finally {
    t.dispose();
  }
}

/** Count of values that are not the same float (Object.is: NaN equals NaN, 0 differs from −0). */
function differing(a: NamedArrays, b: NamedArrays): number {
  let n = 0;
  for (const k of Object.keys(a)) for (let i = 0; i < a[k]!.length; i++) if (!Object.is(a[k]![i], b[k]![i])) n++;
  return n;
}

describe.each(['wasm', 'cpu'] as const)('StackedTrainer on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterAll(async () => {
    await initBackend('wasm');
  });

  describe.each(['mlp', 'transformer', 'mnist-mlp'] as const)('%s', (kind) => {
    const { model, data } = smallCase(kind);
    const steps = backend === 'cpu' ? 6 : 9;
    const members = [0, 1, 2, 3].map((i) => member(model, data, i));
    let solo: ReturnType<typeof soloRows>[] = [];
    beforeAll(() => {
      solo = members.map((m) => soloRows(model, m, steps));
    });

    it('losses and gradients of a stack equal each run alone', () => {
      const k = 3;
      const batches = members.slice(0, k);
      const stacked = model.prepareStacked!(batches.map((m) => m.train));
      try {
        const w = model.params.map((p) =>
          tf.tensor(Float32Array.from(batches.flatMap((m) => Array.from(m.weights[p.name]!))), [k, ...p.shape]),
        );
        const lossOf = (logits: tf.Tensor3D) =>
          model.loss === 'mse'
            ? meanSquaredErrorStacked(logits, stacked.targets)
            : crossEntropyFirstOrderStacked(logits, stacked.targets);
        const { value, grads } = tf.valueAndGrads(
          (...ws: tf.Tensor[]) =>
            tf.sum(
              lossOf(model.forwardStacked!(Object.fromEntries(model.params.map((p, i) => [p.name, ws[i]!])), stacked)),
            ) as tf.Scalar,
        )(w);
        const perRun = lossOf(
          model.forwardStacked!(Object.fromEntries(model.params.map((p, i) => [p.name, w[i]!])), stacked),
        ).dataSync();
        value.dispose();
        batches.forEach((m, r) => {
          const prepared = model.prepare(m.train);
          const ws = model.params.map((p) => tf.tensor(m.weights[p.name]!, p.shape));
          const f = (...xs: tf.Tensor[]) => {
            const logits = model.forward(Object.fromEntries(model.params.map((p, i) => [p.name, xs[i]!])), prepared);
            return model.loss === 'mse'
              ? meanSquaredError(logits, prepared.targets)
              : crossEntropyFirstOrder(logits, prepared.targets);
          };
          const solo1 = tf.valueAndGrads(f)(ws);
          const g = solo1.grads.map((t) => t.dataSync());
          const gs = grads.map((t, i) => t.dataSync().slice(r * g[i]!.length, (r + 1) * g[i]!.length));
          if (backend === 'wasm' || r === 0) {
            // Same float32 operations in the same order: equal bit for bit.
            expect(perRun[r]).toBe(solo1.value.dataSync()[0]);
            gs.forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(g[i]!)));
          } else {
            // tfjs-cpu's dense fallback of the stacked lookup sums in blocks of 48 whose boundaries
            // move with the run's offset in the stacked table: reassociated float32 sums, each term
            // O(1), so relative differences of a few ulps (1e-7) per sum; 1e-5 leaves room for depth.
            expect(Math.abs(perRun[r]! - solo1.value.dataSync()[0]!)).toBeLessThan(
              1e-5 * Math.abs(solo1.value.dataSync()[0]!) + 1e-7,
            );
            gs.forEach((x, i) =>
              x.forEach((v, j) => expect(Math.abs(v - g[i]![j]!)).toBeLessThan(1e-5 * (Math.abs(g[i]![j]!) + 1e-3))),
            );
          }
          tf.dispose([...ws, solo1.value, ...solo1.grads]);
          disposeBatch(prepared);
        });
        tf.dispose([...w, ...grads]);
      } finally {
        disposeStackedBatch(stacked);
      }
    });

    it.each([
      [1, [0]],
      [2, [1, 0]],
      [4, [3, 1, 0, 2]],
    ])('K = %i: metrics rows and weights of every run are those of the run alone', (k, order) => {
      const result = stackRows(
        model,
        order.map((i) => members[i]!),
        steps,
      );
      order.forEach((i, pos) => {
        const want = solo[i]!;
        if (backend === 'wasm' || pos === 0) {
          expect(result.rows[pos]).toEqual(want.rows);
          for (const [a, b] of result.rows[pos]!.map((r, j) => [r, want.rows[j]!] as const))
            for (const key of Object.keys(b)) expect(Object.is(a[key], b[key])).toBe(true);
          expect(differing(result.weights[pos]!, want.weights)).toBe(0);
        } else {
          // See the gradient test: a few ulps per step, compounded over a few steps.
          result.rows[pos]!.forEach((r, j) => expect(r.train_loss).toBeCloseTo(want.rows[j]!.train_loss, 4));
        }
      });
      expect(k).toBe(order.length);
    });

    it('a frozen run keeps its state while the others go on', () => {
      const t = new StackedTrainer({ model, members: [members[0]!, members[1]!] });
      try {
        t.step();
        t.freeze(0);
        const before = t.getWeights(0);
        const state = t.getOptimizerState(0);
        t.step();
        t.step();
        expect(differing(t.getWeights(0), before)).toBe(0);
        expect(t.getOptimizerState(0).t).toBe(state.t);
        expect(t.updates(0)).toBe(1);
        expect(t.updates(1)).toBe(3);
        // Run 1 went on exactly as alone.
        const alone = soloRows(model, members[1]!, 3);
        expect(differing(t.getWeights(1), alone.weights)).toBe(
          backend === 'wasm' ? 0 : differing(t.getWeights(1), alone.weights),
        );
        if (backend === 'wasm') expect(t.getWeights(1)).not.toEqual(members[1]!.weights);
      } finally {
        t.dispose();
      }
    });
  });

  it('refuses batches of different sizes and models without a stacked pass', () => {
    const { model, data } = smallCase('mlp');
    const a = member(model, data, 0);
    const short = {
      ...a.train,
      a: (a.train as { a: Int32Array }).a.slice(1),
      b: (a.train as { b: Int32Array }).b.slice(1),
      labels: a.train.labels.slice(1),
    } as Batch;
    expect(() => new StackedTrainer({ model, members: [a, { ...a, train: short }] })).toThrow(
      /batches of a stack must have the same size/,
    );
    const plain: GrokModel = { ...model, prepareStacked: undefined, forwardStacked: undefined };
    expect(() => new StackedTrainer({ model: plain, members: [a] })).toThrow(/no stacked forward pass/);
  });
});

const SMALL: TrainConfigInput = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 32, dModel: 16 },
  optimizer: { lr: 0.01 },
  steps: 60,
  evalEvery: 10,
  analysisEvery: 30,
  checkpointEvery: 20,
  resumeEvery: 20,
  seed: 3,
  backend: 'wasm',
};

describe('runStack', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const configs: TrainConfigInput[] = [
    SMALL,
    { ...SMALL, seed: 4, optimizer: { lr: 0.005, weightDecay: 0.3 } },
    { ...SMALL, seed: 5, steps: 30 },
  ];

  it('gives each run the folder a solo run gives: config, metrics, checkpoints, summary', async () => {
    const root = tmp();
    const soloDirs = configs.map((c, i) => path.join(root, `solo-${i}`));
    const stackDirs = configs.map((c, i) => path.join(root, `stack-${i}`));
    for (const [i, c] of configs.entries()) await runTraining({ config: c, dir: soloDirs[i]! });
    const outcomes = await runStack(configs.map((c, i) => ({ config: c, dir: stackDirs[i]! })));
    expect(outcomes.map((o) => o.error)).toEqual([undefined, undefined, undefined]);
    expect(outcomes.map((o) => o.result?.status)).toEqual(['finished', 'finished', 'finished']);
    for (const i of configs.keys()) {
      const solo = soloDirs[i]!;
      const stack = stackDirs[i]!;
      expect(readRows(stack)).toEqual(readRows(solo));
      expect(readRows(stack).length).toBe(i === 2 ? 4 : 7);
      expect(readRows(stack)[3]).toHaveProperty('gini_in');
      const conf = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      expect(conf(stack).configHash).toBe(conf(solo).configHash);
      expect(conf(stack).config).toEqual(conf(solo).config);
      expect(fs.readdirSync(path.join(stack, 'checkpoints')).sort()).toEqual(
        fs.readdirSync(path.join(solo, 'checkpoints')).sort(),
      );
      const fin = async (d: string) => (await loadCheckpoint(path.join(d, 'checkpoints', 'final.safetensors'))).tensors;
      const [a, b] = [await fin(stack), await fin(solo)];
      for (const key of Object.keys(b))
        expect(Buffer.from(a[key]!.data.buffer).equals(Buffer.from(b[key]!.data.buffer))).toBe(true);
      const summary = (d: string) => {
        const {
          wallTimeSec: _w,
          msPerStep: _m,
          ...rest
        } = JSON.parse(fs.readFileSync(path.join(d, 'summary.json'), 'utf8'));
        return rest;
      };
      expect(summary(stack)).toEqual(summary(solo));
    }
    // Already finished: reported, not trained again.
    const again = await runStack(configs.map((c, i) => ({ config: c, dir: stackDirs[i]!, mode: 'resume' as const })));
    expect(again.map((o) => o.result?.status)).toEqual(['already-finished', 'already-finished', 'already-finished']);
  });

  it('an interrupted stack resumes (stacked or solo) to the same rows as an uninterrupted run', async () => {
    const root = tmp();
    const dirs = configs.slice(0, 2).map((_, i) => path.join(root, `run-${i}`));
    const controller = new AbortController();
    const first = await runStack(
      configs.slice(0, 2).map((c, i) => ({
        config: c,
        dir: dirs[i]!,
        onEvent: (e) => {
          if (e.type === 'eval' && e.row.step === 20) controller.abort();
        },
      })),
      { signal: controller.signal },
    );
    expect(first.map((o) => o.result?.status)).toEqual(['interrupted', 'interrupted']);
    expect(first[0]!.result!.step).toBeLessThan(60);
    // Run 0 goes on alone, run 1 in a stack of one: both end as if never interrupted.
    await runTraining({ dir: dirs[0]!, mode: 'resume' });
    const resumed = await runStack([{ dir: dirs[1]!, mode: 'resume' }]);
    expect(resumed[0]!.result!.status).toBe('finished');
    for (const [i, d] of dirs.entries()) {
      const fresh = path.join(root, `fresh-${i}`);
      await runTraining({ config: configs[i]!, dir: fresh });
      expect(readRows(d)).toEqual(readRows(fresh));
    }
  });

  it('runs resumed from different steps continue in one stack, each as if never interrupted', async () => {
    const root = tmp();
    const dirs = [0, 1].map((i) => path.join(root, `run-${i}`));
    // Run 0 stops after step 20, run 1 after step 40 (each alone), then both resume in one stack.
    for (const [i, stopAt] of [20, 40].entries()) {
      const controller = new AbortController();
      const r = await runTraining({
        config: configs[i]!,
        dir: dirs[i]!,
        signal: controller.signal,
        onEvent: (e) => e.type === 'eval' && e.row.step === stopAt && controller.abort(),
      });
      expect(r.status).toBe('interrupted');
    }
    const steps = dirs.map((d) => readRows(d).length);
    expect(steps[0]).toBeLessThan(steps[1]!);
    const outcomes = await runStack(dirs.map((dir) => ({ dir, mode: 'resume' as const })));
    expect(outcomes.map((o) => o.result?.status)).toEqual(['finished', 'finished']);
    for (const [i, d] of dirs.entries()) {
      const fresh = path.join(root, `fresh-${i}`);
      await runTraining({ config: configs[i]!, dir: fresh });
      expect(readRows(d)).toEqual(readRows(fresh));
    }
  });

  it('a diverging run stops alone with the solo error; the others finish as alone', async () => {
    const root = tmp();
    const model = createModel('mlp', { vocab: 11, dEmb: 32, dModel: 16 });
    // Weights of 1e30 make the logits overflow to ±Infinity: the loss is NaN at step 0.
    const bad = initialWeights(model, 3);
    for (const name of ['W_in', 'W_out']) bad[name] = bad[name]!.map((x) => x * 1e30);
    const soloErr = await runTraining({ config: SMALL, dir: path.join(root, 'solo-bad'), initialWeights: bad }).catch(
      (e: Error) => e,
    );
    expect(soloErr).toBeInstanceOf(NonFiniteError);
    const outcomes = await runStack([
      { config: SMALL, dir: path.join(root, 'bad'), initialWeights: bad },
      { config: configs[1]!, dir: path.join(root, 'good') },
    ]);
    expect(outcomes[0]!.error).toBeInstanceOf(NonFiniteError);
    expect(outcomes[0]!.error!.message).toBe(
      (soloErr as Error).message.replace(path.join(root, 'solo-bad'), path.join(root, 'bad')),
    );
    expect(outcomes[0]!.error!.message).toMatch(/^training diverged at step 0 in .*: the train loss is NaN;/);
    expect(outcomes[1]!.result!.status).toBe('finished');
    await runTraining({ config: configs[1]!, dir: path.join(root, 'good-solo') });
    expect(readRows(path.join(root, 'good'))).toEqual(readRows(path.join(root, 'good-solo')));
  });

  it('refuses runs that cannot share a stack, and a bad folder fails only its run', async () => {
    const root = tmp();
    await expect(
      runStack([
        { config: SMALL, dir: path.join(root, 'a') },
        { config: { ...SMALL, model: { kind: 'mlp', dEmb: 8, dModel: 4 } }, dir: path.join(root, 'b') },
      ]),
    ).rejects.toThrow(ConfigError);
    // refused before any folder was touched
    expect(fs.existsSync(path.join(root, 'a'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'b'))).toBe(false);
    const outcomes = await runStack([
      { config: { ...SMALL, steps: 10 }, dir: path.join(root, 'c') },
      { dir: path.join(root, 'missing'), mode: 'resume' },
    ]);
    expect(outcomes[0]!.result!.status).toBe('finished');
    expect(outcomes[1]!.error!.message).toMatch(/cannot resume: .*missing holds no run/);
  });
});
