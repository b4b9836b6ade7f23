import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunStore } from '@grokking-tickets/run-store';
import { ConfigError, configHash } from '@grokking-tickets/training';
import { describe, expect, it } from 'vitest';
import {
  SWEEP_CSV_COLUMNS,
  buildSweepRows,
  createInProcessExecutor,
  expandGrid,
  loadSweepFile,
  planSweep,
  readTicketRecord,
  runSweep,
  sweepRowsToCsv,
  validateSweep,
  type SweepEvent,
  type SweepRow,
} from '../src/index.js';

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

function collect(events: SweepEvent[]) {
  return (e: SweepEvent) => events.push(e);
}
const stripTimes = (rows: SweepRow[]) => rows.map(({ wallTimeSec: _w, msPerStep: _m, ...r }) => r);

describe('runSweep', () => {
  it('trains a dense run once for several rates; a second sweep sharing runs trains only what is new', async () => {
    const runs = path.join(tmp(), 'runs');
    const events: SweepEvent[] = [];
    const a = await runSweep({
      plan: planSweep(validateSweep({ name: 'a', ...ticketSweep({ pruningRate: [0.3, 0.6] }) })),
      sweepDir: path.join(tmp(), 'a'),
      runsDir: runs,
      executor: createInProcessExecutor(),
      jobs: 1,
      onEvent: collect(events),
    });
    expect(a.status).toBe('finished');
    expect(events.filter((e) => e.type === 'start').map((e) => (e as { run: { role: string } }).run.role)).toEqual([
      'dense-source',
      'arm',
      'arm',
    ]);
    const denseDir = path.join(runs, a.rows[0]!.dir.replace(/^(\.\.\/)+runs\//, ''));
    expect(new RunStore(denseDir).isFinished()).toBe(true);
    // the experiment points to the shared dense run, relative to itself
    const exp = readTicketRecord(path.join(runs, a.rows[1]!.dir.split('/arms/')[0]!.replace(/^(\.\.\/)+runs\//, '')));
    expect(path.resolve(exp.config.denseDir!)).toBe(path.resolve(denseDir));
    expect(exp.denseRun).toBe(`../${path.basename(denseDir)}`);

    const later: SweepEvent[] = [];
    const b = await runSweep({
      plan: planSweep(validateSweep({ name: 'b', ...ticketSweep({ pruningRate: [0.6, 0.9] }) })),
      sweepDir: path.join(tmp(), 'b'),
      runsDir: runs,
      executor: createInProcessExecutor(),
      jobs: 1,
      onEvent: collect(later),
    });
    expect(b.status).toBe('finished');
    expect(later.find((e) => e.type === 'plan')).toEqual({ type: 'plan', runs: 3, done: 2, toRun: 1 });
    expect(later.filter((e) => e.type === 'start').map((e) => (e as { run: { label: string } }).run.label)).toEqual([
      'pruningRate 0.9, arm ticket',
    ]);
    // the shared run's row is the same in both sweeps
    const shared = (rows: SweepRow[]) => stripTimes(rows).find((r) => r.pruningRate === 0.6)!;
    expect({ ...shared(b.rows), dir: '', points: [] }).toEqual({ ...shared(a.rows), dir: '', points: [] });
  }, 300_000);

  it('stacked: the runs that are ready together train as one stacked job, with results equal to unstacked', async () => {
    const sweep = () =>
      planSweep(
        validateSweep(ticketSweep({ seed: [0, 1], pruningRate: [0.3, 0.6, 0.9] }, { arms: ['ticket', 'same-l2'] })),
      );
    const alone = tmp();
    const a = await runSweep({
      plan: sweep(),
      sweepDir: path.join(alone, 's'),
      runsDir: path.join(alone, 'runs'),
      executor: createInProcessExecutor(),
      jobs: 2,
      stack: 1,
    });
    const stacked = tmp();
    const events: SweepEvent[] = [];
    const b = await runSweep({
      plan: sweep(),
      sweepDir: path.join(stacked, 's'),
      runsDir: path.join(stacked, 'runs'),
      executor: createInProcessExecutor(),
      jobs: 2,
      stack: 4,
      onEvent: collect(events),
    });
    expect(a.status).toBe('finished');
    expect(b.status).toBe('finished');
    // 2 dense runs, then 12 arms: each seed's 6 arms become ready together and are stacked to fill
    // the free slots (at most 4 per stack); every arm trains in a stack, no dense run does.
    const logs = fs
      .readdirSync(path.join(stacked, 's', 'logs'))
      .map((f) => fs.readFileSync(path.join(stacked, 's', 'logs', f), 'utf8'));
    expect(logs.filter((l) => /stacked with [1-3] other runs?\n/.test(l))).toHaveLength(12);
    expect(
      logs.filter((l) => /start seed \d, pruningRate [\d.]+, arm/.test(l) && !/stacked with/.test(l)),
    ).toHaveLength(0);
    const strip = (rows: SweepRow[]) => stripTimes(rows).map((r) => ({ ...r, dir: '' }));
    expect(strip(b.rows)).toEqual(strip(a.rows));
    expect(events.filter((e) => e.type === 'done')).toHaveLength(14);
  }, 300_000);

  it('the dense arm without weight decay is one plain run for every rate, and the reference of the speed-ups', async () => {
    const events: SweepEvent[] = [];
    const dir = tmp();
    const plan = planSweep(
      validateSweep(
        ticketSweep({ pruningRate: [0.3, 0.6] }, { arms: ['ticket', 'dense'], retrain: { weightDecay: 0 } }),
      ),
    );
    const res = await runSweep({
      plan,
      sweepDir: path.join(dir, 's'),
      runsDir: path.join(dir, 'runs'),
      executor: createInProcessExecutor(),
      jobs: 1,
      onEvent: collect(events),
    });
    expect(res.status).toBe('finished');
    const starts = events
      .filter((e) => e.type === 'start')
      .map((e) => (e as { run: { role: string; arm?: string } }).run);
    expect(starts.map((r) => r.arm ?? r.role).sort()).toEqual(['dense', 'dense-source', 'ticket', 'ticket']);
    const denseArm = res.rows.find((r) => r.arm === 'dense')!;
    expect(denseArm).toMatchObject({
      points: [0, 1],
      pruningRate: null,
      weightDecay: 1,
      retrainWeightDecay: 0,
      keptFraction: 1,
    });
    expect(
      JSON.parse(fs.readFileSync(path.join(dir, 's', denseArm.dir, 'config.json'), 'utf8')).config.optimizer
        .weightDecay,
    ).toBe(0);
    for (const t of res.rows.filter((r) => r.arm === 'ticket'))
      expect(t.denseStepsToTest95).toBe(denseArm.stepsToTest95);
    // steps to 50 % and 90 % test accuracy come from the metrics: give the dense arm a test curve
    // rising by 0.01 a step to at most 97 % (so 50 % at step 60 and 90 % at step 100 with evaluations every 20)
    const metricsFile = path.join(dir, 's', denseArm.dir, 'metrics.jsonl');
    const lines = fs
      .readFileSync(metricsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; test_acc: number });
    fs.writeFileSync(
      metricsFile,
      lines.map((x) => JSON.stringify({ ...x, test_acc: Math.min(0.97, x.step / 100) })).join('\n') + '\n',
    );
    const states = new Map(res.rows.map((r) => [r.runId, { status: r.status, dir: path.resolve(dir, 's', r.dir) }]));
    const rebuilt = buildSweepRows(plan, states, path.join(dir, 's')).find((r) => r.arm === 'dense')!;
    expect([rebuilt.stepsToTest50, rebuilt.stepsToTest90, rebuilt.bestTestAcc]).toEqual([60, 100, 0.97]);
    expect(res.rows.filter((r) => r.arm === 'ticket').map((r) => r.stepsToTest90)).toEqual([null, null]);
    // each experiment records where its shared dense arm is, relative to itself, for reports of the folder alone
    for (const t of res.rows.filter((r) => r.arm === 'ticket')) {
      const expDir = path.resolve(dir, 's', t.dir.split('/arms/')[0]!);
      const record = readTicketRecord(expDir);
      expect(path.isAbsolute(record.denseArm!)).toBe(false);
      expect(path.resolve(expDir, record.denseArm!)).toBe(path.resolve(dir, 's', denseArm.dir));
    }
    // a recorded folder that is not relative to the experiment is refused, naming the field
    const expDir = path.resolve(dir, 's', res.rows.find((r) => r.arm === 'ticket')!.dir.split('/arms/')[0]!);
    const raw = JSON.parse(fs.readFileSync(path.join(expDir, 'ticket.json'), 'utf8'));
    for (const field of ['denseRun', 'denseArm']) {
      fs.writeFileSync(
        path.join(expDir, 'ticket.json'),
        JSON.stringify({ ...raw, [field]: path.join(dir, 'elsewhere') }),
      );
      expect(() => readTicketRecord(expDir)).toThrow(
        new RegExp(`ticket\\.json: ${field} must be a folder relative to the experiment$`),
      );
    }
  }, 300_000);

  it('a failed run is recorded and the others go on', async () => {
    const dir = tmp();
    const plan = planSweep(validateSweep({ kind: 'train', base: DENSE, axes: { seed: [0, 1] } }));
    // Occupy the second run's folder with a foreign file: its run fails, the first one trains.
    const blocked = path.join(dir, 'runs', plan.runs[1]!.folder);
    fs.mkdirSync(blocked, { recursive: true });
    fs.writeFileSync(path.join(blocked, 'notes.txt'), 'mine');
    const res = await runSweep({
      plan,
      sweepDir: path.join(dir, 'sweep'),
      runsDir: path.join(dir, 'runs'),
      executor: createInProcessExecutor(),
      jobs: 1,
    });
    expect(res.status).toBe('failed');
    expect(res.counts).toEqual({ finished: 1, failed: 1, interrupted: 0, pending: 0 });
    expect(res.rows[1]!.error).toMatch(/is not empty and holds no run \(it has notes\.txt\)/);
    expect(res.rows[0]!.finalTrainAcc).toBeTypeOf('number');
    const csv = fs
      .readFileSync(path.join(dir, 'sweep', 'sweep-results.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe(SWEEP_CSV_COLUMNS.join(','));
    expect(csv).toHaveLength(3);
    expect(csv[2]).toMatch(/,failed,"?[^,]*is not empty/);
    expect(fs.readFileSync(path.join(dir, 'sweep', 'logs', `${plan.runs[1]!.id}.log`), 'utf8')).toMatch(
      /failed: .*notes\.txt/,
    );
  }, 300_000);

  it('CSV quoting follows RFC 4180', () => {
    const row = { runId: 'x', error: 'a, "b"\nc', points: [1, 2] } as unknown as SweepRow;
    const line = sweepRowsToCsv([row]).split('\n').slice(1).join('\n');
    expect(line.startsWith('x,,,,"a, ""b""\nc",1;2,')).toBe(true);
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
