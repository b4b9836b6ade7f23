import path from 'node:path';
import type { RunSummary, TrainConfig } from '@grokking-tickets/training';
import type { PlannedRun, SweepPlan } from './plan.js';

/**
 * One unit of work an executor runs: a plain training run, or one arm of a ticket experiment whose
 * folder already holds a verified `ticket.json`. Jobs are plain JSON, so they cross threads,
 * processes and queues unchanged; a job never names code to load (plug-ins travel with the
 * executor, from what the user named in this invocation). `prunerSpec` is kept for callers of
 * `runArm` that load a pruner by hand; queues drop it.
 */
export type RunJob =
  | {
      kind: 'train';
      id: string;
      label: string;
      dir: string;
      config: TrainConfig;
      provenance?: Record<string, unknown>;
      /** What config.json records as the command that made the run (default `grokking-tickets (<label>)`). */
      command?: string;
    }
  | { kind: 'arm'; id: string; label: string; experimentDir: string; arm: string; prunerSpec?: string; cwd?: string }
  | StackJob;

/** A single run: a plain training run or one arm of a ticket experiment. */
export type SingleJob = Exclude<RunJob, StackJob>;

/**
 * Several single jobs of one model kind and task trained as one stacked computation (see
 * `runStack` in @grokking-tickets/training): one job for an executor, one worker, one outcome whose
 * `members` hold each run's own outcome.
 */
export interface StackJob {
  kind: 'stack';
  id: string;
  label: string;
  jobs: SingleJob[];
}

/** How a job ended. `failed` carries the one-line error; the other jobs go on. */
export interface JobOutcome {
  id: string;
  status: 'finished' | 'already-finished' | 'reused' | 'interrupted' | 'failed';
  dir: string;
  summary?: RunSummary;
  error?: { message: string; code?: string };
  /** For a stack job: each member's outcome, in the order of `jobs` (the stack's own status is the worst of them). */
  members?: JobOutcome[];
}

/** Where a job writes: its run folder, or its arm's folder. */
export function jobDir(job: RunJob): string {
  if (job.kind === 'stack') return jobDir(job.jobs[0]!);
  return job.kind === 'train' ? job.dir : `${job.experimentDir}/arms/${job.arm}`;
}

/** The folder of a planned run: its folder inside the runs folder, or its own absolute folder. */
export function plannedRunDir(run: PlannedRun, runsDir: string): string {
  return path.isAbsolute(run.folder) ? run.folder : path.join(runsDir, run.folder);
}

/**
 * The job of a planned run: a run with a config (plain, dense, a sweep's mask-free dense arm) is a
 * training job; an arm is an arm job of its experiment's folder.
 */
export function jobOf(plan: SweepPlan, run: PlannedRun, runsDir: string): SingleJob {
  if (run.role === 'arm' && !run.config) {
    const exp = plan.experiments.find((e) => e.identity === run.experiment)!;
    return {
      kind: 'arm',
      id: run.id,
      label: run.label,
      experimentDir: path.join(runsDir, exp.folder),
      arm: run.arm!,
    };
  }
  return { kind: 'train', id: run.id, label: run.label, dir: plannedRunDir(run, runsDir), config: run.config! };
}
