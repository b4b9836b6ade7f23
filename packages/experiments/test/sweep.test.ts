import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, configHash } from '@grokking-tickets/training';
import { describe, expect, it } from 'vitest';
import { expandGrid, loadSweepFile, planSweep, validateSweep } from '../src/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-sweep-'));
const DENSE = {
  task: { p: 11, trainFraction: 0.5 },
  model: { dEmb: 24, dModel: 12 },
  optimizer: { lr: 0.01 },
  steps: 120,
  evalEvery: 20,
  resumeEvery: 40,
  backend: 'wasm',
};
const ticketSweep = (axes: Record<string, unknown[]>, base: Record<string, unknown> = {}) => ({
  kind: 'ticket',
  base: { dense: DENSE, arms: ['ticket'], ...base },
  axes,
});

describe('sweep files: validation', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', [1, 2], /^a sweep file holds an object with kind, base and axes, got a list$/],
    ['no kind', { axes: {} }, /^kind: must be one of "train", "ticket", got nothing$/],
    [
      'unknown field',
      { kind: 'train', axis: {} },
      /^unknown config field "axis" \(fields: name, description, kind, base, axes\)$/,
    ],
    [
      'unknown axis',
      { kind: 'train', axes: { seeds: [0] } },
      /^axes: unknown axis "seeds" \(axes: seed, task, op, p, trainFraction, model, steps, lr, weightDecay, retrainWeightDecay,/,
    ],
    [
      'axis of the other kind',
      { kind: 'train', axes: { pruningRate: [0.5] } },
      /^axes.pruningRate: applies to ticket sweeps only, not to a train sweep$/,
    ],
    [
      'empty grid',
      { kind: 'train', axes: { seed: [] } },
      /^axes.seed: an empty list makes the grid empty; list at least one value or remove the axis$/,
    ],
    ['not a list', { kind: 'train', axes: { seed: 3 } }, /^axes.seed: must be a list of values, got 3$/],
    ['bad value', { kind: 'ticket', axes: { pruningRate: [0.5, 1] } }, /^axes.pruningRate\[1\]: must be < 1, got 1$/],
    ['wrong type', { kind: 'train', axes: { seed: [0, 'one'] } }, /^axes.seed\[1\]: must be a number, got "one"$/],
    ['non-integer seed', { kind: 'train', axes: { seed: [1.5] } }, /^axes.seed\[0\]: must be an integer, got 1.5$/],
    [
      'repeated value',
      { kind: 'train', axes: { seed: [0, 1, 0] } },
      /^axes.seed\[2\]: 0 is listed twice \(also at \[0\]\)$/,
    ],
    [
      'bad step word',
      { kind: 'ticket', axes: { fromStep: ['last'] } },
      /^axes.fromStep\[0\]: must be "final" or a step number, got "last"$/,
    ],
    [
      'bad variant',
      { kind: 'train', axes: { variant: [{ name: 'a' }] } },
      /^axes.variant\[0\].set: must be an object, got nothing$/,
    ],
    ['bad name', { kind: 'train', name: 'a b' }, /^name: must be letters, digits, "\.", "_" or "-", got "a b"$/],
    [
      'too many points',
      {
        kind: 'train',
        axes: {
          seed: Array.from({ length: 200 }, (_, i) => i),
          lr: Array.from({ length: 60 }, (_, i) => (i + 1) / 1000),
        },
      },
      /^axes: the grid has 12000 points, more than the 10000 a sweep may hold$/,
    ],
  ])('%s', (_what, file, message) => {
    expect(() => validateSweep(file)).toThrow(ConfigError);
    expect(() => validateSweep(file)).toThrow(message);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'invalid base',
      { kind: 'ticket', base: { dense: { optimizer: { lrr: 1 } } } },
      /^base: dense.optimizer: unknown field "lrr"/,
    ],
    [
      'denseDir in base',
      { kind: 'ticket', base: { denseDir: 'runs/x' } },
      /^base: denseDir: a sweep trains and shares its own dense runs/,
    ],
    [
      'a point that is an invalid run',
      ticketSweep({ seed: [0], fromStep: [100, 500] }),
      /^point 1 \(seed 0, fromStep 500\): fromStep: step 500 is beyond the dense run's 120 steps$/,
    ],
    [
      'a model that cannot read the task',
      { kind: 'train', base: { model: { kind: 'mlp' } }, axes: { task: ['modular', 'mnist'] } },
      /^point 1 \(task mnist\): model.kind: model "mlp" reads pairs but task "mnist" gives images$/,
    ],
    [
      'an unknown arm',
      ticketSweep({ arm: ['ticket', 'lottery'] }),
      /^point 1 \(arm lottery\): arms: unknown arm "lottery"/,
    ],
    [
      'a plug-in not named on the command line',
      ticketSweep({ pruner: ['magnitude', 'my-pruner'] }),
      /^point 1 \(pruner my-pruner\): pruner: "my-pruner" is not a built-in pruner .*pass --pruner my-pruner$/,
    ],
  ])('planning refuses %s', (_what, file, message) => {
    expect(() => planSweep(validateSweep(file))).toThrow(ConfigError);
    expect(() => planSweep(validateSweep(file))).toThrow(message);
  });

  it('reads YAML and JSON; a parse error names the file and line', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'kind: train\naxes:\n  seed: [0, 1]\n');
    expect(loadSweepFile(path.join(dir, 'a.yaml'))).toMatchObject({
      name: 'a',
      kind: 'train',
      axes: [{ name: 'seed', values: [0, 1] }],
    });
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'kind: train\naxes:\n  seed: [0, 1\n');
    expect(() => loadSweepFile(path.join(dir, 'b.yaml'))).toThrow(
      new RegExp(`^${path.join(dir, 'b.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+: not valid YAML: `),
    );
    fs.writeFileSync(path.join(dir, 'c.json'), '{"kind": "train",}');
    expect(() => loadSweepFile(path.join(dir, 'c.json'))).toThrow(/c\.json: not valid JSON: /);
    fs.writeFileSync(path.join(dir, 'd.yaml'), 'kind: train\naxes:\n  seed: [0]\n  seed: [1]\n');
    expect(() => loadSweepFile(path.join(dir, 'd.yaml'))).toThrow(
      /d\.yaml:\d+:\d+: not valid YAML: Map keys must be unique/,
    );
    fs.writeFileSync(path.join(dir, 'e.yaml'), 'kind: train\naxes:\n  seeds: [0]\n');
    expect(() => loadSweepFile(path.join(dir, 'e.yaml'))).toThrow(/e\.yaml: axes: unknown axis "seeds"/);
    expect(() => loadSweepFile(path.join(dir, 'a.txt'))).toThrow(
      /a\.txt: a sweep file ends in \.json, \.yaml or \.yml/,
    );
  });
});

describe('sweep plans: grid and folder sharing', () => {
  it('expands the grid with the first axis outermost', () => {
    expect(
      expandGrid({
        axes: [
          { name: 'seed', values: [0, 1] },
          { name: 'pruningRate', values: [0.3, 0.6, 0.9] },
        ],
      }),
    ).toEqual([
      { seed: 0, pruningRate: 0.3 },
      { seed: 0, pruningRate: 0.6 },
      { seed: 0, pruningRate: 0.9 },
      { seed: 1, pruningRate: 0.3 },
      { seed: 1, pruningRate: 0.6 },
      { seed: 1, pruningRate: 0.9 },
    ]);
  });

  it('one dense run per seed serves every rate; tickets from several checkpoints share one dense run with those checkpoints', () => {
    const plan = planSweep(
      validateSweep(ticketSweep({ seed: [0, 1], pruningRate: [0.3, 0.6, 0.9] }, { arms: ['ticket', 'dense'] })),
    );
    const dense = plan.runs.filter((r) => r.role === 'dense-source');
    expect(dense).toHaveLength(2);
    expect(dense.map((r) => r.points)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(dense[0]!.id).toBe(configHash(dense[0]!.config));
    expect(dense[0]!.folder).toBe(`add11-mlp-s0-${dense[0]!.id}`);
    expect(plan.experiments).toHaveLength(6);
    const arms = plan.runs.filter((r) => r.role === 'arm');
    expect(arms).toHaveLength(12);
    // the dense arm retrained with the dense run's settings is that run
    expect(arms.filter((r) => r.arm === 'dense').every((r) => r.sameAs === r.dependsOn)).toBe(true);

    const steps = planSweep(validateSweep(ticketSweep({ seed: [0], fromStep: [40, 100, 'final'] })));
    const d = steps.runs.filter((r) => r.role === 'dense-source');
    expect(d).toHaveLength(1);
    expect(d[0]!.config!.checkpointSteps).toEqual([40, 100]);
    expect(steps.experiments.map((e) => e.config.dense)).toEqual([d[0]!.config, d[0]!.config, d[0]!.config]);
    // a retrain weight decay of 0 makes the dense arm a run of its own
    // and, having no mask, one run shared by every rate: the plain run of the retraining config
    const wd0 = planSweep(
      validateSweep(
        ticketSweep({ pruningRate: [0.3, 0.5, 0.7] }, { arms: ['ticket', 'dense'], retrain: { weightDecay: 0 } }),
      ),
    );
    const denseArms = wd0.runs.filter((r) => r.arm === 'dense');
    expect(denseArms).toHaveLength(1);
    expect(denseArms[0]).toMatchObject({ points: [0, 1, 2], config: { optimizer: { weightDecay: 0 } } });
    expect('sameAs' in denseArms[0]! || 'dependsOn' in denseArms[0]!).toBe(false);
    expect(denseArms[0]!.id).toBe(configHash(denseArms[0]!.config));
    expect(wd0.experiments.every((e) => e.denseArm === denseArms[0]!.id)).toBe(true);
  });

  it('the arm axis and the arms list give the same experiments; variants lay configs over the base', () => {
    const a = planSweep(validateSweep(ticketSweep({ arm: ['ticket', 'random'] })));
    const b = planSweep(validateSweep(ticketSweep({}, { arms: ['ticket', 'random'] })));
    expect(a.experiments.map((e) => e.identity)).toEqual(b.experiments.map((e) => e.identity));
    expect(a.runs.map((r) => r.id)).toEqual(b.runs.map((r) => r.id));
    const v = planSweep(
      validateSweep({
        kind: 'train',
        base: DENSE,
        axes: {
          variant: [
            { name: 'mlp', set: {} },
            { name: 'tf', set: { model: { kind: 'transformer', dModel: 16, dHead: 16, dMlp: 16 } } },
          ],
        },
      }),
    );
    expect(v.runs.map((r) => r.config!.model.kind)).toEqual(['mlp', 'transformer']);
  });
});

describe("the paper's claims as sweep files (planned, not run)", () => {
  const mlp = { dense: { model: { kind: 'mlp' } } };
  const transformer = { dense: { model: { kind: 'transformer' } } };
  const mnist = {
    dense: { task: { name: 'mnist' }, model: { kind: 'mnist-mlp' }, optimizer: { weightDecay: 0.1 }, steps: 100000 },
  };
  const plan = (file: unknown) => planSweep(validateSweep(file), { skipResourceCheck: true });
  const count = (p: ReturnType<typeof planSweep>, role: string) => p.runs.filter((r) => r.role === role).length;
  it.each<[string, unknown, { dense: number; arms: number; experiments: number }]>([
    [
      'E1 tickets accelerate grokking (MLP, Transformer, MNIST)',
      {
        kind: 'ticket',
        base: { arms: ['ticket', 'dense'] },
        axes: {
          variant: [
            { name: 'mlp', set: mlp },
            { name: 'transformer', set: transformer },
            { name: 'mnist', set: mnist },
          ],
          seed: [0, 1, 2],
        },
      },
      { dense: 9, arms: 18, experiments: 9 },
    ],
    [
      'E2 same-norm controls',
      { kind: 'ticket', base: { arms: ['ticket', 'dense', 'same-l1', 'same-l2'] }, axes: { seed: [0, 1, 2] } },
      { dense: 3, arms: 12, experiments: 3 },
    ],
    [
      'E3 no weight decay across pruning rates',
      {
        kind: 'ticket',
        base: { arms: ['ticket', 'dense'], retrain: { weightDecay: 0 } },
        axes: {
          variant: [
            { name: 'mlp', set: mlp },
            { name: 'transformer', set: transformer },
          ],
          seed: [0, 1, 2],
          pruningRate: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.81, 0.85, 0.9, 0.95],
        },
      },
      { dense: 6, arms: 78, experiments: 72 },
    ],
    [
      'E4 tickets from memorisation, transition, generalisation',
      {
        kind: 'ticket',
        base: { arms: ['ticket', 'dense'] },
        axes: { seed: [0, 1, 2], fromStep: [2000, 15000, 'final'] },
      },
      { dense: 3, arms: 18, experiments: 9 },
    ],
    [
      'E5 pruning at initialisation',
      {
        kind: 'ticket',
        base: {},
        axes: { seed: [0, 1, 2], arm: ['ticket', 'dense', 'random', 'snip', 'grasp', 'synflow'] },
      },
      { dense: 3, arms: 18, experiments: 3 },
    ],
    [
      'E7 frequency entropy (MLP, seed 1)',
      { kind: 'ticket', base: { dense: { analysisEvery: 2000 }, arms: ['ticket', 'dense'] }, axes: { seed: [1] } },
      { dense: 1, arms: 2, experiments: 1 },
    ],
    [
      'E8 overview: 50 000 steps, transition and final tickets',
      { kind: 'ticket', base: { dense: { steps: 50000 }, arms: ['ticket'] }, axes: { fromStep: [15000, 'final'] } },
      { dense: 1, arms: 2, experiments: 2 },
    ],
  ])('%s', (_claim, file, expected) => {
    const p = plan(file);
    expect({ dense: count(p, 'dense-source'), arms: count(p, 'arm'), experiments: p.experiments.length }).toEqual(
      expected,
    );
  });
  it("E1's MNIST variant replaces the task and model blocks; E4's dense run gets the checkpoint at 15000", () => {
    const e1 = plan({ kind: 'ticket', axes: { variant: [{ name: 'mnist', set: mnist }] } });
    expect(e1.experiments[0]!.config.dense).toMatchObject({
      task: { name: 'mnist', trainSize: 1000 },
      model: { kind: 'mnist-mlp' },
      optimizer: { weightDecay: 0.1 },
      steps: 100000,
    });
    const e4 = plan({ kind: 'ticket', axes: { fromStep: [2000, 15000, 'final'] } });
    expect(e4.runs.find((r) => r.role === 'dense-source')!.config!.checkpointSteps).toEqual([15000]); // 2000 is a multiple of checkpointEvery
  });
});
