import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { FormatError, readTicketRecordFile, type TicketRecordFile } from '@grokking-tickets/experiment-format';
import { denseMasks } from '@grokking-tickets/models';
import {
  buildMask,
  isBuiltinPruner,
  loadPruner,
  pruners,
  type MaskOptions,
  type MaskResult,
  type Pruner,
} from '@grokking-tickets/pruners';
import { findPlugin, usePlugins } from '@grokking-tickets/registry';
import { RunFolderError, RunStore } from '@grokking-tickets/run-store';
import { getTask, runTraining, type RunOptions, type TrainEvent } from '@grokking-tickets/training';
import { getArm, type ArmContext, type ArmPlan } from './arms.js';
import { ExperimentError, openDenseRun, type DenseSource } from './dense.js';
import type { JobOutcome } from './jobs.js';
import {
  denseArmIsDenseRun,
  resolveTicketConfig,
  retrainConfig,
  ticketIdentity,
  type TicketConfig,
} from './ticketConfig.js';

/**
 * What `ticket.json` holds (see `TicketRecordFile` in @grokking-tickets/experiment-format): the
 * resolved config, whose identity hash checks it on every read.
 */
export type TicketRecord = TicketRecordFile<TicketConfig>;

/**
 * Resolves the experiment's pruner. A built-in is taken from the registry; anything else is a
 * plug-in: one loaded in this process because the user named it (`--pruner`, `--plugin`), or
 * loaded now when `userSpec` (a name the user gave in this invocation) names it; then it is a
 * plug-in of this invocation, which executors pass on to the processes they start. A pruner written
 * into stored state (an edited `ticket.json`, a queue message) is never loaded.
 */
export async function resolveExperimentPruner(
  spec: string,
  userSpec: string | undefined,
  cwd: string,
): Promise<Pruner> {
  if (isBuiltinPruner(spec)) return pruners.get(spec);
  const fromPlugin = findPlugin(spec)?.entries.pruners?.[0];
  if (fromPlugin !== undefined) return pruners.get(fromPlugin);
  if (userSpec !== spec) {
    throw new ExperimentError(
      `this experiment uses the pruner "${spec}", which is not built in; plug-ins are loaded only from names given on the command line: pass --pruner ${spec}`,
    );
  }
  const pruner = await loadPruner(spec, cwd); // one-line errors that name the pruner
  await usePlugins([{ spec, cwd }]);
  return pruner;
}

/** Reads and verifies an experiment's `ticket.json` (its config must still have its identity hash). */
export function readTicketRecord(dir: string): TicketRecord {
  const store = new RunStore(dir);
  let record: TicketRecordFile;
  try {
    record = readTicketRecordFile(dir);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    throw new RunFolderError(
      / is missing$/.test(e.message) ? `${dir} holds no ticket experiment (no ticket.json)` : e.message,
      { cause: e },
    );
  }
  let config: TicketConfig;
  try {
    config = resolveTicketConfig(record.config);
  } catch (e) {
    throw new RunFolderError(`${store.file('ticket.json')}: ${(e as Error).message}`, { cause: e });
  }
  if (
    ticketIdentity(config) !== record.identity ||
    ticketIdentity(record.config as unknown as TicketConfig) !== record.identity
  ) {
    throw new RunFolderError(
      `${store.file('ticket.json')} does not match its identity hash ${record.identity}: the file was edited or made by other code`,
    );
  }
  const denseDir = record.denseRun !== undefined ? path.join(dir, record.denseRun) : config.denseDir;
  return {
    config: { ...config, denseDir },
    identity: record.identity,
    ...(record.denseRun !== undefined ? { denseRun: record.denseRun } : {}),
    ...(record.denseArm !== undefined ? { denseArm: record.denseArm } : {}),
  };
}

/** The dense run folder of an experiment: the reused one, or `<dir>/dense-source`. */
export function denseDirOf(dir: string, config: TicketConfig): string {
  return config.denseDir ?? path.join(dir, 'dense-source');
}

/** Mask options of an experiment. */
export function maskOptionsOf(config: TicketConfig): MaskOptions {
  return {
    pruningRate: config.pruningRate,
    scope: config.scope,
    schedule: config.schedule,
    rounds: config.rounds,
    invert: config.invert,
    shuffle: config.shuffle,
    ...(config.prunable ? { prunable: config.prunable } : {}),
  };
}

/** The lazily computed masks and weights every arm plans from. */
export function armContext(config: TicketConfig, dense: DenseSource, pruner: Pruner): ArmContext {
  const data = getTask(String(dense.config.task.name)).load(dense.config.task, dense.config.seed);
  const maskOptions = maskOptionsOf(config);
  let ticket: Promise<MaskResult> | undefined;
  const atInit = new Map<string, Promise<MaskResult>>();
  return {
    model: dense.model,
    theta0: dense.theta0,
    rewind: dense.rewind,
    batch: data.train,
    pruningRate: config.pruningRate,
    normDefinition: config.normDefinition,
    maskOptions,
    ticketMask: () =>
      (ticket ??= buildMask(
        pruner,
        {
          model: dense.model,
          weights: dense.scored,
          initialWeights: dense.theta0,
          batch: data.train,
          seed: dense.config.seed,
        },
        maskOptions,
      )),
    maskAtInit: (name: string) => {
      let m = atInit.get(name);
      if (!m) {
        const ctx = {
          model: dense.model,
          weights: dense.theta0,
          masks: denseMasks(dense.model),
          initialWeights: dense.theta0,
          batch: data.train,
          seed: dense.config.seed,
        };
        atInit.set(name, (m = buildMask(pruners.get(name), ctx, { ...maskOptions, invert: false, shuffle: false })));
      }
      return m;
    },
  };
}

/** Options of {@link runArm}. */
export interface ArmJobOptions {
  /** The experiment folder (holding a verified `ticket.json`). */
  experimentDir: string;
  arm: string;
  /** The pruner spec the user gave in this invocation (needed when the experiment's pruner is a plug-in). */
  prunerSpec?: string;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
}

/**
 * Trains (or resumes, or reuses) one arm of an experiment in `<experimentDir>/arms/<arm>`. Reads
 * and verifies `ticket.json` and the dense run, plans the arm from the registry, and on resume
 * refuses an arm folder whose stored initial weights or masks differ from the plan.
 */
export async function runArm(options: ArmJobOptions): Promise<JobOutcome> {
  const plan = await planArm(options);
  if ('outcome' in plan) return plan.outcome;
  const result = await runTraining(plan.run);
  return { id: plan.outcomeId, status: result.status, dir: plan.run.dir, summary: result.summary };
}

/**
 * Plans one arm without training it: the `runTraining` options of its run (initial weights, masks,
 * provenance, folder mode), or the outcome when nothing is to be trained (a dense arm that is the
 * dense run itself). Used by {@link runArm} and by stacked execution.
 */
export async function planArm(
  options: ArmJobOptions,
): Promise<{ outcome: JobOutcome } | { run: RunOptions & { dir: string }; outcomeId: string }> {
  const { config } = readTicketRecord(options.experimentDir);
  const id = `${options.experimentDir}#${options.arm}`;
  const denseDir = denseDirOf(options.experimentDir, config);
  const dense = await openDenseRun(denseDir, config.fromStep, config.rewindStep);
  for (const note of dense.notes) options.onEvent?.({ type: 'notice', message: note });
  const retrain = retrainConfig(config);
  if (options.arm === 'dense' && denseArmIsDenseRun(retrain, dense.config)) {
    // Retrained with the dense run's own settings, the dense arm is the dense run itself.
    return { outcome: { id, status: 'reused', dir: denseDir, summary: dense.summary } };
  }
  await initBackend(dense.config.backend);
  const pruner = await resolveExperimentPruner(config.pruner, options.prunerSpec, options.cwd ?? process.cwd());
  const plan: ArmPlan = await getArm(options.arm).plan(armContext(config, dense, pruner));
  const dir = path.join(options.experimentDir, 'arms', options.arm);
  const store = new RunStore(dir);
  return {
    outcomeId: id,
    run: {
      config: retrain,
      dir,
      mode: store.exists() ? 'resume' : 'new',
      initialWeights: plan.initialWeights,
      masks: plan.masks,
      verifyInit: true,
      provenance: {
        experiment: 'grokking-ticket',
        experimentId: ticketIdentity(config),
        arm: options.arm,
        denseDir,
        denseConfigHash: dense.configHash,
        fromStep: config.fromStep,
        rewindStep: config.rewindStep,
        pruningRate: config.pruningRate,
        pruner: config.pruner,
        kept: plan.kept,
        total: plan.total,
        ...(plan.alpha !== undefined ? { alpha: plan.alpha } : {}),
        ...plan.provenance,
      },
      command: `grokking-tickets ticket (arm ${options.arm})`,
      signal: options.signal,
      onEvent: options.onEvent,
    },
  };
}
