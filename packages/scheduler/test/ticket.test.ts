import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { RunStore, loadCheckpoint } from '@grokking-tickets/run-store';
import { createModel } from '@grokking-tickets/models';
import { buildMask, getPruner } from '@grokking-tickets/pruners';
import { ConfigError, getTask, resolveTrainConfig, runTraining } from '@grokking-tickets/training';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTicketConfig, type TicketConfigInput } from '@grokking-tickets/experiments';
import { runTicket } from '../src/index.js';

const DENSE = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 24, dModel: 12 },
  optimizer: { lr: 0.01 },
  steps: 240,
  evalEvery: 20,
  checkpointEvery: 0,
  resumeEvery: 60,
  seed: 2,
  backend: 'wasm' as const,
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-ticket-'));

beforeAll(async () => {
  await initBackend('wasm');
});

describe('ticket config', () => {
  it('defaults: magnitude, rate 0.6, global one-shot, rewind to θ0, arms ticket + dense', () => {
    const c = resolveTicketConfig();
    expect(c).toMatchObject({
      pruner: 'magnitude',
      pruningRate: 0.6,
      scope: 'global',
      schedule: 'one-shot',
      rounds: 1,
      rewindStep: 'init',
      fromStep: 'final',
      arms: ['ticket', 'dense'],
      normDefinition: 'global',
    });
  });
  it.each<[TicketConfigInput, RegExp]>([
    [{ pruningRate: 1 }, /^pruningRate: must be < 1, got 1$/],
    [{ pruningRate: -0.1 }, /^pruningRate: must be >= 0, got -0.1$/],
    [
      { arms: ['ticket', 'lottery' as never] },
      /^arms: unknown arm "lottery" \(arms: ticket, dense, same-l1, same-l2, random, snip, grasp, synflow, magnitude-init\)$/,
    ],
    [{ arms: [] }, /^arms: must list at least 1 item$/],
    [{ arms: ['ticket', ''] }, /^arms\[1\]: must not be empty$/],
    [{ fromStep: 'last' as never }, /^fromStep: must be "final" or a step number, got "last"$/],
    [{ fromStep: 40000 }, /^fromStep: step 40000 is beyond the dense run's 30000 steps$/],
    [{ rounds: 0 }, /^rounds: must be >= 1, got 0$/],
    [{ rounds: 3 }, /^rounds: a one-shot schedule has one round/],
    [{ pruner: '' }, /^pruner: must not be empty$/],
    [{ denseDir: '' }, /^denseDir: must not be empty$/],
    [{ retrain: { weightDecay: -1 } }, /^retrain.weightDecay: must be >= 0, got -1$/],
    [{ retrain: { wd: 1 } as never }, /^retrain: unknown field "wd" \(fields: weightDecay, steps, evalEvery\)$/],
    [{ dense: { optimizer: { lrr: 1 } } as never }, /^dense.optimizer: unknown field "lrr"/],
    [{ dense: { task: { p: null } } as never }, /^dense.task.p: must be a number, got null$/],
    [
      { pruningrate: 0.5 } as never,
      /^unknown config field "pruningrate" \(fields: dense, denseDir, fromStep, pruner, pruningRate,/,
    ],
  ])('rejects %j', (input, message) => {
    expect(() => resolveTicketConfig(input)).toThrow(ConfigError);
    expect(() => resolveTicketConfig(input)).toThrow(message);
  });
});

describe('runTicket', () => {
  it('dense → mask → rewind → retrain, with every arm, in one call', async () => {
    const dir = tmp();
    const res = await runTicket({
      dir,
      config: {
        dense: DENSE,
        arms: ['ticket', 'dense', 'same-l1', 'same-l2', 'random', 'snip', 'grasp', 'synflow'],
        pruningRate: 0.6,
        retrain: { weightDecay: 0.5 },
      },
    });
    expect(res.status).toBe('finished');
    const s = res.summary!;
    const N = 24 * 11 + 12 * 24 + 24 * 12 + 24 * 11;
    expect(s.total).toBe(N);
    expect(s.kept).toBe(N - Math.floor(0.6 * N));
    expect(s.arms.map((a) => a.arm)).toEqual([
      'ticket',
      'dense',
      'same-l1',
      'same-l2',
      'random',
      'snip',
      'grasp',
      'synflow',
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'ticket-summary.json'), 'utf8')).arms).toHaveLength(8);

    // the ticket starts from θ0 ⊙ m: its init checkpoint holds θ0 and the magnitude mask of θ_final
    const theta0 = (await loadCheckpoint(path.join(dir, 'dense-source', 'checkpoints', 'init.safetensors'))).tensors;
    const final = (await loadCheckpoint(path.join(dir, 'dense-source', 'checkpoints', 'final.safetensors'))).tensors;
    const ticketInit = (await loadCheckpoint(path.join(dir, 'arms', 'ticket', 'checkpoints', 'init.safetensors')))
      .tensors;
    const allFinal = Object.keys(final)
      .flatMap((k) => Array.from(final[k]!.data as Float32Array).map(Math.abs))
      .sort((a, b) => a - b);
    const tau = allFinal[Math.floor(0.6 * N) - 1]!;
    for (const k of ['W_E', 'W_in', 'W_out', 'W_U']) {
      const mask = ticketInit[`mask/${k}`]!.data as Float32Array;
      const f = final[k]!.data as Float32Array;
      (ticketInit[k]!.data as Float32Array).forEach((x, i) =>
        expect(x).toBe(mask[i] ? (theta0[k]!.data as Float32Array)[i] : 0),
      );
      mask.forEach((v, i) => expect(v).toBe(Math.abs(f[i]!) > tau ? 1 : 0));
    }
    // retrained arms use the retrain weight decay and the dense run's split seed
    const armCfg = JSON.parse(fs.readFileSync(path.join(dir, 'arms', 'ticket', 'config.json'), 'utf8'));
    expect(armCfg.config.optimizer.weightDecay).toBe(0.5);
    expect(armCfg.config.seed).toBe(2);
    expect(armCfg.provenance).toMatchObject({ arm: 'ticket', pruner: 'magnitude', pruningRate: 0.6 });
    // the same-norm controls start at the ticket's initial norm
    const ticket = s.arms.find((a) => a.arm === 'ticket')!;
    expect(s.arms.find((a) => a.arm === 'same-l1')!.initialL1).toBeCloseTo(ticket.initialL1, 1);
    expect(s.arms.find((a) => a.arm === 'same-l2')!.initialL2).toBeCloseTo(ticket.initialL2, 3);
    expect(s.arms.find((a) => a.arm === 'dense')!.keptWeights).toBe(N);
    for (const arm of ['random', 'snip', 'grasp', 'synflow'])
      expect(s.arms.find((a) => a.arm === arm)!.keptWeights).toBeLessThanOrEqual(N - Math.floor(0.6 * N));
    // pruning at initialisation scores θ0 itself: the snip arm's mask is SNIP on θ0, not on θ_final
    const model = createModel('mlp', { vocab: 11, dEmb: 24, dModel: 12 });
    const data = getTask('modular').load(resolveTrainConfig(DENSE).task, 2);
    const arrays = (t: typeof theta0) =>
      Object.fromEntries(['W_E', 'W_in', 'W_out', 'W_U'].map((k) => [k, t[k]!.data as Float32Array]));
    const snipOn = async (w: typeof theta0) =>
      (
        await buildMask(
          getPruner('snip'),
          { model, weights: arrays(w), batch: data.train, seed: 2 },
          { pruningRate: 0.6 },
        )
      ).masks;
    const snipInit = (await loadCheckpoint(path.join(dir, 'arms', 'snip', 'checkpoints', 'init.safetensors'))).tensors;
    const onTheta0 = await snipOn(theta0);
    const onFinal = await snipOn(final);
    for (const k of ['W_E', 'W_in', 'W_out', 'W_U'])
      expect(Array.from(snipInit[`mask/${k}`]!.data as Float32Array), k).toEqual(Array.from(onTheta0[k]!));
    expect(
      ['W_E', 'W_in', 'W_out', 'W_U'].some((k) => onFinal[k]!.some((v, i) => v !== onTheta0[k]![i])),
      'the test can tell θ0 from θ_final',
    ).toBe(true);
    // retraining with the dense settings reuses the dense run as the dense arm
    const reuse = await runTicket({
      dir: tmp(),
      config: { denseDir: path.join(dir, 'dense-source'), arms: ['dense'] },
    });
    expect(reuse.summary!.arms[0]!.status).toBe('reused');
  }, 300_000);

  it('reuses a finished dense run, checks its task and checkpoints, and rejects bad folders', async () => {
    const denseDir = path.join(tmp(), 'dense');
    await runTraining({ config: { ...DENSE, checkpointSteps: [40] }, dir: denseDir });
    const out = tmp();
    const res = await runTicket({
      dir: out,
      config: { dense: DENSE, denseDir, fromStep: 40, arms: ['ticket'], retrain: { steps: 60 } },
    });
    expect(res.summary!.scoredCheckpoint).toBe('step-000040');
    expect(fs.existsSync(path.join(out, 'dense-source'))).toBe(false);
    await expect(
      runTicket({ dir: tmp(), config: { dense: { ...DENSE, task: { ...DENSE.task, p: 13 } }, denseDir } }),
    ).rejects.toThrow(/different task/);
    await expect(runTicket({ dir: tmp(), config: { denseDir, fromStep: 100 } })).rejects.toThrow(
      /no checkpoint "step-000100" \(available: final, init, step-000040\)/,
    );
    await expect(runTicket({ dir: tmp(), config: { denseDir: tmp() } })).rejects.toThrow(/holds no run/);
    await expect(runTicket({ dir: tmp(), config: { denseDir, pruner: 'no-such-pruner' } })).rejects.toThrow(
      /no-such-pruner/,
    );
    await expect(runTicket({ dir: tmp(), config: { denseDir, prunable: ['W_X'] } })).rejects.toThrow(
      /^prunable: W_X is not prunable; choose among W_E, W_in, W_out, W_U$/,
    );
    // pruning a subset: W_U stays whole, the rate applies to the others, the same-norm scale covers all
    const sub = await runTicket({
      dir: tmp(),
      config: { denseDir, prunable: ['W_E', 'W_in', 'W_out'], arms: ['ticket'], retrain: { steps: 20 } },
    });
    const N3 = 24 * 11 + 12 * 24 + 24 * 12;
    expect(sub.summary!.total).toBe(N3);
    expect(sub.summary!.kept).toBe(N3 - Math.floor(0.6 * N3));
    expect(sub.summary!.perTensor.W_U).toBeUndefined();
    // an existing ticket folder is not overwritten without force
    const before = fs.readFileSync(path.join(out, 'ticket-summary.json'), 'utf8');
    await expect(runTicket({ dir: out, config: { denseDir } })).rejects.toThrow(/already exists/);
    expect(fs.readFileSync(path.join(out, 'ticket-summary.json'), 'utf8')).toBe(before);
  }, 300_000);

  it('arms in worker threads (jobs 2) give exactly the same runs; an interrupted experiment resumes', async () => {
    const config = { dense: DENSE, arms: ['ticket', 'random', 'same-l2'] as const, retrain: { steps: 120 } };
    const a = await runTicket({ dir: tmp(), config: { ...config, arms: [...config.arms] } });
    const bDir = tmp();
    const controller = new AbortController();
    const first = await runTicket({
      dir: bDir,
      jobs: 2,
      config: { ...config, arms: [...config.arms] },
      signal: controller.signal,
      onEvent: (e) =>
        e.type === 'train' &&
        e.arm === 'ticket' &&
        e.event.type === 'eval' &&
        e.event.row.step === 40 &&
        controller.abort(),
    });
    expect(first.status).toBe('interrupted');
    const b = await runTicket({ dir: bDir, jobs: 2, mode: 'resume' });
    expect(b.status).toBe('finished');
    const strip = (s: typeof a.summary) => s!.arms.map(({ dir: _d, status: _s, ...rest }) => rest);
    expect(strip(b.summary)).toEqual(strip(a.summary));
    expect(new RunStore(path.join(bDir, 'arms', 'ticket')).readMetrics()).toEqual(
      new RunStore(path.join(path.dirname(a.summary!.arms[0]!.dir), 'ticket')).readMetrics(),
    );
  }, 300_000);
});
