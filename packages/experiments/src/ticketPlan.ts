import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { initialWeights } from '@grokking-tickets/models';
import { buildMask, type Pruner } from '@grokking-tickets/pruners';
import { RunFolderError, RunStore } from '@grokking-tickets/run-store';
import { ConfigError, checkResources, getTask, mergeInput, type RunMode } from '@grokking-tickets/training';
import { getArm } from './arms.js';
import { ExperimentError, modelOf, openDenseRun, type DenseSource } from './dense.js';
import { planExperiments, type PlanLayout, type SweepPlan, type SweepPoint } from './plan.js';
import { denseDirOf, maskOptionsOf, readTicketRecord, resolveExperimentPruner } from './ticket.js';
import {
  resolveTicketConfig,
  retrainConfig,
  ticketIdentity,
  type TicketConfig,
  type TicketConfigInput,
} from './ticketConfig.js';

/** Options of {@link planTicket}. */
export interface TicketPlanOptions {
  config?: TicketConfigInput;
  /** The experiment folder. */
  dir: string;
  mode?: RunMode;
  /** Folder that relative pruner paths are resolved from (default: process.cwd()). */
  cwd?: string;
}

/** A ticket experiment, checked and planned: a sweep of one point. */
export interface TicketPlan {
  /** The resolved config (with `dense` the reused run's config when `denseDir` is given). */
  config: TicketConfig;
  pruner: Pruner;
  /** The reused dense run, verified (null when the experiment trains its own). */
  dense: DenseSource | null;
  /** The dense run's folder: the reused one, or `<dir>/dense-source`. */
  denseDir: string;
  /** The graph of runs (dense run, arms), folders relative to `dir`. */
  plan: SweepPlan;
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(path.resolve(outer), path.resolve(inner));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The layout of the `ticket` command: everything in one experiment folder (`dense-source/` unless
 * a dense run is reused, `arms/<arm>/`), runs named by their arm, the config recorded as given.
 */
function ticketLayout(dir: string, denseDir: string | null): PlanLayout {
  return {
    dense: () =>
      denseDir === null
        ? { id: 'dense-source', folder: 'dense-source', label: 'dense run' }
        : {
            id: 'dense-source',
            folder: path.isAbsolute(denseDir) ? denseDir : path.relative(dir, denseDir),
            label: 'dense run',
            external: true,
          },
    experimentFolder: () => '.',
    arm: (_identity, arm) => ({ id: arm, label: arm }),
    sharedDenseArm: () => null,
    experimentConfig: (config) => config,
  };
}

/**
 * Checks a ticket experiment and plans it before anything is created or trained: the config by
 * schema (on resume: the stored one, verified, with settings given again compared against it), the
 * pruner (a plug-in only when named in this invocation) by a dry run on θ0 so that a pruner that
 * fails does so before a long dense run, a reused dense run by its config hash, metrics and
 * checkpoints, the prunable parameters, the arms and this machine's memory. Returns the plan: a
 * sweep of one point, the same graph of runs a sweep makes (`planExperiments`), laid out in one
 * experiment folder.
 * @example
 * const { plan } = await planTicket({ dir: 'runs/mem-s0', config: { denseDir: 'runs/dense-s0', fromStep: 2000 } });
 * plan.runs.map((r) => [r.id, r.dependsOn]); // [ [ 'dense-source', undefined ], [ 'ticket', 'dense-source' ], ... ]
 */
export async function planTicket(options: TicketPlanOptions): Promise<TicketPlan> {
  const mode = options.mode ?? 'new';
  const cwd = options.cwd ?? process.cwd();
  const store = new RunStore(options.dir);
  const hasRecord = fs.existsSync(store.file('ticket.json'));
  let config: TicketConfig;
  if (mode === 'resume') {
    if (!hasRecord)
      throw new RunFolderError(`cannot resume: ${options.dir} holds no ticket experiment (no ticket.json)`);
    const stored = readTicketRecord(options.dir).config;
    config = stored;
    if (options.config) {
      // Settings given again on resume must not change the experiment (arms may be added).
      const given = resolveTicketConfig(mergeInput(stored, options.config) as TicketConfigInput);
      if (ticketIdentity(given) !== ticketIdentity(stored) || given.denseDir !== stored.denseDir) {
        throw new ConfigError(
          `--resume: the given settings describe a different experiment than the one in ${options.dir}; drop the changed settings to resume it as it was`,
        );
      }
      config = { ...stored, arms: given.arms };
    }
  } else {
    config = resolveTicketConfig(options.config ?? {});
    if (hasRecord && mode === 'new')
      throw new RunFolderError(`${options.dir} already exists; pass --resume to continue it or --force to replace it`);
  }
  const userSpec = options.config?.pruner;
  const pruner = await resolveExperimentPruner(
    config.pruner,
    userSpec ?? (mode === 'resume' ? undefined : config.pruner),
    cwd,
  );

  // A reused dense run is an input: verify it now, and never let --force touch it.
  let dense: DenseSource | null = null;
  if (config.denseDir) {
    if (mode === 'force' && (within(config.denseDir, options.dir) || within(options.dir, config.denseDir))) {
      throw new ConfigError(
        `--force would delete ${config.denseDir}, the dense run this experiment reads; choose another --out`,
      );
    }
    dense = await openDenseRun(config.denseDir, config.fromStep, config.rewindStep);
    const conflicts = mode === 'resume' ? [] : conflictsWithDense(dense.config, options.config?.dense);
    if (conflicts.length > 0)
      throw new ConfigError(
        `--dense ${config.denseDir} is for a different task, model or seed (${conflicts.join('; ')})`,
      );
    config = { ...config, dense: dense.config };
  }
  const model = modelOf(config.dense);
  if (config.prunable) {
    const known = model.params.filter((p) => p.prunable).map((p) => p.name);
    const unknown = config.prunable.filter((n) => !known.includes(n));
    if (unknown.length)
      throw new ConfigError(
        `prunable: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not prunable; choose among ${known.join(', ')}`,
      );
  }
  for (const arm of config.arms) getArm(arm);
  checkResources(config.dense);
  checkResources(retrainConfig(config));
  await initBackend(config.dense.backend);
  const denseDir = denseDirOf(options.dir, config);
  if (!dense && !new RunStore(denseDir).isFinished()) {
    // Try the pruner on θ0 now, so that a pruner that fails does so before a long dense run.
    const data = getTask(String(config.dense.task.name)).load(config.dense.task, config.dense.seed);
    const theta0 = initialWeights(model, config.dense.seed);
    try {
      await buildMask(
        pruner,
        { model, weights: theta0, initialWeights: theta0, batch: data.train, seed: config.dense.seed },
        maskOptionsOf(config),
      );
    } catch (e) {
      throw new ExperimentError(
        `the pruner "${config.pruner}" fails on this model (tried on θ0 before training the dense run): ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  const point: SweepPoint = { index: 0, axes: {}, label: 'the base config', runs: [] };
  const graph = planExperiments([{ point, config }], ticketLayout(options.dir, config.denseDir));
  const plan: SweepPlan = {
    spec: { name: path.basename(path.resolve(options.dir)), kind: 'ticket', base: {}, axes: [] },
    points: [point],
    ...graph,
  };
  return { config, pruner, dense, denseDir, plan };
}

/**
 * Fields the user set explicitly (task, model, seed) that differ from a reused dense run's config;
 * unset fields are taken from the dense run.
 */
function conflictsWithDense(stored: TicketConfig['dense'], given: TicketConfigInput['dense']): string[] {
  if (!given) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(given.task ?? {}))
    if (v !== undefined && stored.task[k] !== v)
      out.push(`task.${k} ${JSON.stringify(stored.task[k])} vs ${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(given.model ?? {}))
    if (v !== undefined && stored.model[k] !== v)
      out.push(`model.${k} ${JSON.stringify(stored.model[k])} vs ${JSON.stringify(v)}`);
  if (given.seed !== undefined && given.seed !== stored.seed) out.push(`seed ${stored.seed} vs ${given.seed}`);
  return out;
}
