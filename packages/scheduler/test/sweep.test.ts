import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  SWEEP_CSV_COLUMNS,
  buildSweepRows,
  planSweep,
  readTicketRecord,
  sweepRowsToCsv,
  validateSweep,
  type SweepRow,
} from '@grokking-tickets/experiments';
import { RunStore } from '@grokking-tickets/run-store';
import { describe, expect, it } from 'vitest';
import { createInProcessExecutor, runSweep, type SweepEvent } from '../src/index.js';

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
