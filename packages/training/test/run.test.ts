import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { firstStepReaching } from '@grokking-tickets/grokking-metrics';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { RunFolderError, loadCheckpoint } from '@grokking-tickets/run-store';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  Trainer,
  getTask,
  resolveTrainConfig,
  resolveTaskConfig,
  runTraining,
  type EvalRow,
  type TrainConfigInput,
} from '../src/index.js';

const SMALL: TrainConfigInput = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 32, dModel: 16 },
  optimizer: { lr: 0.01 },
  steps: 200,
  evalEvery: 20,
  checkpointEvery: 100,
  resumeEvery: 50,
  seed: 3,
  backend: 'wasm',
};

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-run-'));
const readRows = (dir: string): EvalRow[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalRow);

beforeAll(async () => {
  await initBackend('wasm');
});

describe('config', () => {
  it('defaults are the paper settings', () => {
    const c = resolveTrainConfig();
    expect(c.task).toEqual({ name: 'modular', op: 'add', p: 67, trainFraction: 0.4, symmetric: true });
    expect(c.model).toMatchObject({ kind: 'mlp', vocab: 67, dEmb: 500, dModel: 48, weightScale: 1 });
    expect(c.optimizer).toEqual({ lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 1 });
    expect(c.steps).toBe(30000);
    const mnist = resolveTrainConfig({ task: { name: 'mnist' } });
    expect(mnist.model.kind).toBe('mnist-mlp');
    expect(mnist.optimizer.weightDecay).toBe(0.1);
    expect(mnist.steps).toBe(100000);
  });
  it('rejects bad input with one-line errors naming the field', () => {
    expect(() => resolveTrainConfig({ stepz: 3 } as never)).toThrow(ConfigError);
    expect(() => resolveTrainConfig({ stepz: 3 } as never)).toThrow(/unknown config field "stepz"/);
    expect(() => resolveTrainConfig({ stepz: 3 } as never)).toThrow(/\(fields: task, model, optimizer, steps,/);
    expect(() => resolveTrainConfig({ steps: 0 })).toThrow(/^steps: must be >= 1, got 0$/);
    expect(() => resolveTrainConfig({ steps: 1e9 })).toThrow(/^steps: must be <= 100000000, got 1000000000$/);
    expect(() => resolveTrainConfig({ seed: 1.5 })).toThrow(/^seed: must be an integer, got 1.5$/);
    expect(() => resolveTrainConfig({ task: { name: 'sorting' } })).toThrow(/unknown task "sorting"/);
    expect(() => resolveTrainConfig({ task: { name: 'modular', q: 3 } as never })).toThrow(
      /^task: unknown field "q" \(fields: op, p, trainFraction, symmetric\)$/,
    );
    expect(() => resolveTrainConfig({ task: { p: null } as never })).toThrow(/^task.p: must be a number, got null$/);
    expect(() => resolveTrainConfig({ task: { op: '' } })).toThrow(
      /^task.op: must be one of "add", "subtract", "x2xyy2", "rand", got ""$/,
    );
    expect(() => resolveTrainConfig({ task: null } as never)).toThrow(/^task: must be an object, got null$/);
    expect(() => resolveTrainConfig({ model: { kind: 'mnist-mlp' } })).toThrow(
      /reads images but task "modular" gives pairs/,
    );
    expect(() => resolveTrainConfig({ optimizer: { lr: -1 } })).toThrow(/^optimizer.lr: must be > 0, got -1$/);
    expect(() => resolveTrainConfig({ optimizer: { lrr: 1 } } as never)).toThrow(
      /^optimizer: unknown field "lrr" \(fields: lr, beta1, beta2, eps, weightDecay\)$/,
    );
    expect(() => resolveTrainConfig({ backend: 'gpu' as never })).toThrow(
      /^backend: must be one of "auto", "tensorflow", "wasm", "cpu", got "gpu"$/,
    );
    expect(() => resolveTrainConfig({ steps: 100, checkpointSteps: [150] })).toThrow(
      /^checkpointSteps: step 150 is beyond the run's 100 steps$/,
    );
  });
});

describe('Trainer', () => {
  const setup = (masks?: boolean) => {
    const config = resolveTrainConfig(SMALL);
    const model = createModel('mlp', { vocab: 11, dEmb: 32, dModel: 16 });
    const data = getTask('modular').load(resolveTaskConfig(config.task), config.seed);
    const weights = initialWeights(model, 3);
    let maskArrays;
    if (masks) {
      maskArrays = Object.fromEntries(
        Object.entries(weights).map(([k, w]) => [k, w.map((_, i) => (i % 3 === 0 ? 0 : 1))]),
      );
    }
    return new Trainer({
      model,
      weights,
      masks: maskArrays,
      optimizer: config.optimizer,
      train: data.train,
      test: data.test,
    });
  };

  it('fits the training set of a tiny task and is deterministic', () => {
    const a = setup();
    const b = setup();
    const start = a.evaluate();
    for (let i = 0; i < 150; i++) {
      a.step();
      b.step();
    }
    const ra = a.evaluate();
    expect(ra).toEqual(b.evaluate());
    expect(ra.step).toBe(150);
    expect(ra.train_loss).toBeLessThan(start.train_loss / 10);
    expect(ra.train_acc).toBe(1);
    a.dispose();
    b.dispose();
  });

  it('masked weights stay exactly zero through training (weight decay included)', () => {
    const t = setup(true);
    for (let i = 0; i < 30; i++) t.step();
    const w = t.getWeights();
    let zeros = 0;
    let nonzero = 0;
    for (const arr of Object.values(w)) {
      arr.forEach((x, i) => {
        if (i % 3 === 0) {
          expect(x === 0).toBe(true);
          zeros++;
        } else if (x !== 0) nonzero++;
      });
    }
    expect(zeros).toBeGreaterThan(100);
    expect(nonzero).toBeGreaterThan(100);
    t.dispose();
  });
});

describe('runTraining', () => {
  it('writes a complete run folder', async () => {
    const dir = tmp();
    const events: string[] = [];
    const res = await runTraining({ config: SMALL, dir, onEvent: (e) => events.push(e.type) });
    expect(res.status).toBe('finished');
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'summary.json',
      'checkpoints/init.safetensors',
      'checkpoints/init.json',
      'checkpoints/step-000100.safetensors',
      'checkpoints/final.safetensors',
      'state/resume.safetensors',
    ]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.config.model).toMatchObject({ kind: 'mlp', vocab: 11, dEmb: 32 });
    expect(cfg.environment.backend).toBe('wasm');
    const rows = readRows(dir);
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: 11 }, (_, i) => i * 20));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.final.test_acc).toBe(rows[rows.length - 1]!.test_acc);
    expect(summary.stepsTo.train_acc_0_95).toBe(firstStepReaching(rows, 'train_acc', 0.95));
    expect(summary.backend).toBe('wasm');
    // init checkpoint holds θ0 of the seed; final equals the weights after 200 updates
    const init = await loadCheckpoint(path.join(dir, 'checkpoints/init.safetensors'));
    const theta0 = initialWeights(createModel('mlp', { vocab: 11, dEmb: 32, dModel: 16 }), 3);
    expect(Array.from(init.tensors.W_E!.data as Float32Array)).toEqual(Array.from(theta0.W_E!));
    expect(events[0]).toBe('start');
    expect(events[events.length - 1]).toBe('finish');
  });

  it('an interrupted run resumes to exactly the same metrics and weights', async () => {
    const full = tmp();
    await runTraining({ config: SMALL, dir: full });
    const part = tmp();
    const controller = new AbortController();
    const first = await runTraining({
      config: SMALL,
      dir: part,
      signal: controller.signal,
      onEvent: (e) => e.type === 'eval' && e.row.step === 60 && controller.abort(),
    });
    expect(first.status).toBe('interrupted');
    expect(first.step).toBe(75);
    expect(fs.existsSync(path.join(part, 'summary.json'))).toBe(false);
    // the state was saved at the abort step itself (not at the last resumeEvery boundary, 50), and the
    // metrics hold every row up to it
    const saved = await loadCheckpoint(path.join(part, 'state/resume.safetensors'));
    expect(saved.meta).toMatchObject({ step: 75, adamStep: 75 });
    expect(readRows(part).map((r) => r.step)).toEqual([0, 20, 40, 60]);
    const second = await runTraining({ dir: part, mode: 'resume' });
    expect(second.status).toBe('finished');
    expect(readRows(part)).toEqual(readRows(full));
    const a = await loadCheckpoint(path.join(full, 'checkpoints/final.safetensors'));
    const b = await loadCheckpoint(path.join(part, 'checkpoints/final.safetensors'));
    for (const k of Object.keys(a.tensors))
      expect(Array.from(b.tensors[k]!.data as Float32Array)).toEqual(Array.from(a.tensors[k]!.data as Float32Array));
    // resuming a finished run does nothing
    expect((await runTraining({ dir: part, mode: 'resume' })).status).toBe('already-finished');
  });

  it('refuses to reuse an existing folder without resume/force and leaves it intact', async () => {
    const dir = tmp();
    await runTraining({ config: { ...SMALL, steps: 20 }, dir });
    const before = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
    await expect(runTraining({ config: SMALL, dir })).rejects.toThrow(RunFolderError);
    await expect(runTraining({ config: SMALL, dir })).rejects.toThrow(/already exists; pass --resume .* or --force/);
    expect(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).toBe(before);
    await expect(runTraining({ dir: tmp(), mode: 'resume' })).rejects.toThrow(/holds no run/);
    const forced = await runTraining({ config: { ...SMALL, steps: 40 }, dir, mode: 'force' });
    expect(forced.summary!.steps).toBe(40);
  });
});
