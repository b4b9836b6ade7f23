import { configHash, type TrainConfig } from '@grokking-tickets/training';
import {
  denseArmIsDenseRun,
  denseWithCheckpoints,
  retrainConfig,
  ticketIdentity,
  type TicketConfig,
} from './ticketConfig.js';

/** What a sweep varies: plain training runs, or ticket experiments (a dense run and its arms). */
export type SweepKind = 'train' | 'ticket';

/** One value of the `variant` axis: a named partial config laid over the base. */
export interface SweepVariant {
  name: string;
  set: Record<string, unknown>;
}

/** A validated sweep: its kind, base and axes in file order. A ticket experiment is a sweep of one point. */
export interface SweepSpec {
  name: string;
  description?: string;
  kind: SweepKind;
  base: Record<string, unknown>;
  axes: Array<{ name: string; values: unknown[] }>;
}

/** A point of the grid. */
export interface SweepPoint {
  index: number;
  /** The point's value of every axis (variants by name). */
  axes: Record<string, unknown>;
  label: string;
  /** Ids of the runs that make the point's results. */
  runs: string[];
}

/** A run the plan needs: a plain training run, the dense run of experiments, or an arm. */
export interface PlannedRun {
  /**
   * Its identity: in a sweep the config hash (train, dense-source) or `<experiment identity>-<arm>`
   * (the queue's job id); in a ticket experiment `dense-source` or the arm's name.
   */
  id: string;
  role: 'train' | 'dense-source' | 'arm';
  label: string;
  /**
   * Its folder: relative to the runs folder (`<experiment folder>/arms/<arm>` for an arm), or
   * absolute (a reused dense run).
   */
  folder: string;
  /** Indexes of the points that use it (a dense run usually serves many). */
  points: number[];
  /**
   * train, dense-source and a mask-free dense arm of a sweep: the resolved training config (such a
   * run is trained as a plain run).
   */
  config?: TrainConfig;
  /** arm: the (first) experiment it belongs to and the arm name. */
  experiment?: string;
  arm?: string;
  /** The run that must finish first (an arm's dense run). */
  dependsOn?: string;
  /** The dense arm retrained with the dense run's own settings is that run: its id (see `denseArmIsDenseRun`). */
  sameAs?: string;
  /** A finished run the plan reads but never trains (the dense run a ticket experiment reuses). */
  external?: boolean;
}

/** A ticket experiment of the plan. */
export interface PlannedExperiment {
  identity: string;
  folder: string;
  /** Resolved config, `dense` being the dense run's config (with the checkpoints every experiment on it needs). */
  config: TicketConfig;
  denseRun: string;
  /** The run id of its dense arm, when it has one (the reference of its speed-ups). */
  denseArm?: string;
}

/** Everything a sweep or a ticket experiment will do, resolved and validated before anything runs: a graph of runs. */
export interface SweepPlan {
  spec: SweepSpec;
  points: SweepPoint[];
  runs: PlannedRun[];
  experiments: PlannedExperiment[];
}

/** The folder name of a training run: `<task>-<model>-s<seed>-<config hash>` (the one `train` uses by default). */
export function runFolderName(config: TrainConfig): string {
  const task = config.task.name === 'modular' ? `${config.task.op}${config.task.p}` : String(config.task.name);
  return `${task}-${config.model.kind}-s${config.seed}-${configHash(config)}`;
}

/** The folder name of a ticket experiment: `ticket-<identity>` (the one `ticket` uses by default). */
export function experimentFolderName(config: TicketConfig): string {
  return `ticket-${ticketIdentity(config)}`;
}

/** A point's axis values as a short label (`seed 1, pruningRate 0.6`). */
export function pointLabel(values: Record<string, unknown>): string {
  const parts = Object.entries(values).map(
    ([k, v]) => `${k} ${k === 'variant' ? (v as SweepVariant).name : typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
  return parts.join(', ') || 'the base config';
}

/**
 * Where the runs of experiments go, and what they are called: the one difference between a sweep
 * (dense runs and the mask-free dense arm shared by hash in the runs folder) and the `ticket`
 * command (everything inside one experiment folder).
 */
export interface PlanLayout {
  /** The dense run's id and folder, and its label at a point. */
  dense(dense: TrainConfig, point: SweepPoint): { id: string; folder: string; label: string; external?: boolean };
  /** The experiment's folder. */
  experimentFolder(config: TicketConfig): string;
  /** An arm's id and label (its folder is `<experiment folder>/arms/<arm>`). */
  arm(identity: string, arm: string, point: SweepPoint): { id: string; label: string };
  /**
   * The mask-free dense arm when it is not the dense run itself: a plain run of the retraining
   * config shared by every experiment that needs it (its id, folder and label), or null to train it
   * as the experiment's own arm.
   */
  sharedDenseArm(retrain: TrainConfig, point: SweepPoint): { id: string; folder: string; label: string } | null;
  /**
   * The config an experiment records (its identity): by default the given one with `dense` set to
   * the dense run's config (with the checkpoints its experiments need); the `ticket` command records
   * the config as given.
   */
  experimentConfig?(config: TicketConfig, dense: TrainConfig): TicketConfig;
}

/**
 * The one planner of ticket experiments: turns resolved ticket configs (one per point) into a graph
 * of runs. Every dense config is trained once, with the checkpoints all its experiments need;
 * points that resolve to the same experiment share it; each arm depends on its dense run; the
 * dense arm is the dense run itself when {@link denseArmIsDenseRun} says so (it is then not
 * trained again), else a shared plain run or the experiment's own arm, as the layout says.
 */
export function planExperiments(
  resolved: ReadonlyArray<{ point: SweepPoint; config: TicketConfig }>,
  layout: PlanLayout,
): { runs: PlannedRun[]; experiments: PlannedExperiment[] } {
  const runs = new Map<string, PlannedRun>();
  const experiments = new Map<string, PlannedExperiment & { arms: string[] }>();
  const addRun = (run: PlannedRun, point: number) => {
    const known = runs.get(run.id);
    if (known) {
      if (!known.points.includes(point)) known.points.push(point);
    } else runs.set(run.id, run);
  };
  const stepsNeeded = new Map<string, number[]>();
  for (const { config } of resolved) {
    const key = configHash(config.dense);
    const need = stepsNeeded.get(key) ?? [];
    for (const s of [config.fromStep, config.rewindStep]) if (typeof s === 'number') need.push(s);
    stepsNeeded.set(key, need);
  }
  const denseConfigs = new Map<string, TrainConfig>();
  const denseOf = (dense: TrainConfig): TrainConfig => {
    const key = configHash(dense);
    let d = denseConfigs.get(key);
    if (!d) denseConfigs.set(key, (d = denseWithCheckpoints(dense, stepsNeeded.get(key) ?? [])));
    return d;
  };
  for (const { point, config } of resolved) {
    const dense = denseOf(config.dense);
    const experiment: TicketConfig = layout.experimentConfig?.(config, dense) ?? { ...config, dense };
    const identity = ticketIdentity(experiment);
    const folder = layout.experimentFolder(experiment);
    const d = layout.dense(dense, point);
    addRun(
      {
        id: d.id,
        role: 'dense-source',
        label: d.label,
        folder: d.folder,
        points: [point.index],
        config: dense,
        ...(d.external ? { external: true } : {}),
      },
      point.index,
    );
    point.runs.push(d.id);
    let exp = experiments.get(identity);
    if (!exp) experiments.set(identity, (exp = { identity, folder, config: experiment, denseRun: d.id, arms: [] }));
    for (const arm of config.arms) {
      if (!exp.arms.includes(arm)) exp.arms.push(arm);
      const own = layout.arm(identity, arm, point);
      let id = own.id;
      const retrain = arm === 'dense' ? retrainConfig(experiment) : null;
      const shared = retrain && !denseArmIsDenseRun(retrain, dense) ? layout.sharedDenseArm(retrain, point) : null;
      if (retrain && denseArmIsDenseRun(retrain, dense)) {
        // Retrained with the dense run's own settings, the dense arm is the dense run.
        addRun(
          {
            id,
            role: 'arm',
            label: own.label,
            folder: d.folder,
            points: [point.index],
            experiment: identity,
            arm,
            dependsOn: d.id,
            sameAs: d.id,
          },
          point.index,
        );
      } else if (retrain && shared) {
        // The dense arm has no mask: it is the plain run of the retraining config from the same θ0,
        // shared by every rate, pruner and checkpoint that needs it.
        id = shared.id;
        addRun(
          {
            id,
            role: 'arm',
            label: shared.label,
            folder: shared.folder,
            points: [point.index],
            experiment: identity,
            arm,
            config: retrain,
          },
          point.index,
        );
      } else {
        addRun(
          {
            id,
            role: 'arm',
            label: own.label,
            folder: `${folder}/arms/${arm}`,
            points: [point.index],
            experiment: identity,
            arm,
            dependsOn: d.id,
          },
          point.index,
        );
      }
      if (arm === 'dense') exp.denseArm = id;
      point.runs.push(id);
    }
  }
  return {
    runs: [...runs.values()],
    experiments: [...experiments.values()].map(({ arms, ...e }) => ({ ...e, config: { ...e.config, arms } })),
  };
}
