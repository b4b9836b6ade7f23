import { createModel } from '@grokking-tickets/models';
import {
  readTicketRecord,
  retrainConfig,
  jobDir,
  type JobOutcome,
  type RunJob,
  type SingleJob,
  type StackJob,
} from '@grokking-tickets/experiments';
import { canStack, stackKey, type TrainConfig } from '@grokking-tickets/training';
import type { Executor, ExecutorRunOptions } from './executors.js';

// The one stacking policy of the scheduler: which runs train together as one stacked computation
// (`runStack` in @grokking-tickets/training), for a ticket experiment's arms and a sweep's runs alike.

/**
 * Default number of runs per stack (`--stack` of `ticket` and `sweep`). From `npm run bench`'s
 * throughput table (README, Performance): the paper's MLP gives 698 model-steps/s with two
 * processes at K = 1 and 803–824 at K = 4–16 (555 → 761–776 per CPU-second), flat beyond K = 4,
 * while resident memory per run falls from ~126 MB (K = 1) to ~22 MB (K = 8); 8 keeps a stack's
 * memory (~180 MB) and its wasted slots (runs that finished early) small.
 */
export const DEFAULT_STACK = 8;

/**
 * The stack key of a run's training config: runs with the same key (model, task, backend) can
 * train as one stacked computation; null when the config is unknown or its model has no stacked
 * forward pass (such a run trains alone).
 */
export function stackKeyOf(config: TrainConfig | null): string | null {
  if (!config) return null;
  try {
    const { kind, ...options } = config.model;
    return canStack(createModel(kind, options)) ? stackKey(config) : null;
  } catch {
    return null;
  }
}

/**
 * How `count` compatible runs split into stacks of at most `stack` runs for `slots` free places
 * (workers): as many stacks as it takes, rounded up to a multiple of `slots` (whole rounds of the
 * pool) when there are enough runs, and as equal in size as possible, larger first. 12 runs, K 4, 2
 * slots make 4 stacks of 3 (two rounds of two), not 3 stacks of 4 (the third alone in a second round).
 */
export function stackSizes(count: number, stack: number, slots = 1): number[] {
  if (count <= 0) return [];
  const k = Math.max(1, Math.floor(stack));
  const s = Math.max(1, Math.min(slots, count));
  const n = Math.min(count, Math.ceil(Math.ceil(count / k) / s) * s);
  const base = Math.floor(count / n);
  return Array.from({ length: n }, (_, s) => base + (s < count % n ? 1 : 0));
}

/**
 * Runs in order of their step counts (stable): runs of similar length go together, as a run that
 * finishes early is frozen in its stack until the stack ends.
 */
export function bySteps<T extends { steps: number }>(runs: readonly T[]): T[] {
  return [...runs].sort((a, b) => a.steps - b.steps);
}

/** One stack job of several single jobs. */
export function stackOf(members: SingleJob[]): StackJob {
  return {
    kind: 'stack',
    id: members.map((m) => m.id).join('+'),
    label: members.map((m) => m.label).join('+'),
    jobs: members,
  };
}

/**
 * Groups single jobs into stack jobs of at most `stack` runs that can train together (same model,
 * task and backend: an arm's retraining config is read from its experiment's ticket.json), for any
 * executor. Jobs that cannot be stacked (different settings, a model without a stacked forward pass)
 * stay single. With `workers`, a group is split into a multiple of that many stacks (when it has
 * enough jobs), so that the stacks fill whole rounds of the pool; stacks of a group are as equal in
 * size as possible, and jobs with similar step counts go together (a run that finishes early is frozen in
 * its stack until the stack ends). `stack` ≤ 1 returns the jobs unchanged.
 */
export async function groupIntoStacks(
  jobs: readonly RunJob[],
  stack: number,
  options: { workers?: number } = {},
): Promise<RunJob[]> {
  if (!(stack > 1)) return [...jobs];
  const keyed = new Map<string, Array<{ job: SingleJob; steps: number }>>();
  const out: RunJob[] = [];
  for (const job of jobs) {
    if (job.kind === 'stack') {
      out.push(job);
      continue;
    }
    let config: TrainConfig | null = null;
    try {
      config = job.kind === 'train' ? job.config : retrainConfig(readTicketRecord(job.experimentDir).config);
    } catch {
      config = null; // the job will report its own error when it runs
    }
    const key = stackKeyOf(config);
    if (key === null) {
      out.push(job);
      continue;
    }
    if (!keyed.has(key)) keyed.set(key, []);
    keyed.get(key)!.push({ job, steps: config!.steps });
  }
  for (const group of keyed.values()) {
    let at = 0;
    const sorted = bySteps(group);
    for (const size of stackSizes(group.length, stack, options.workers ?? 1)) {
      const members = sorted.slice(at, at + size).map((g) => g.job);
      at += size;
      out.push(members.length === 1 ? members[0]! : stackOf(members));
    }
  }
  return out;
}

/**
 * Runs single jobs with an executor, stacked by {@link groupIntoStacks} (`stack` runs at most per
 * stack, spread over `workers`), and returns one outcome per given job, in the given order, as
 * `executor.run(jobs)` would.
 */
export async function runStacked(
  executor: Executor,
  jobs: readonly RunJob[],
  stack: number,
  options: ExecutorRunOptions & { workers?: number } = {},
): Promise<JobOutcome[]> {
  const grouped = await groupIntoStacks(jobs, stack, { workers: options.workers });
  const outcomes = await executor.run(grouped, options);
  const byId = new Map<string, JobOutcome>();
  grouped.forEach((job, i) => {
    const o = outcomes[i]!;
    if (job.kind !== 'stack') byId.set(job.id, o);
    else
      job.jobs.forEach((m, j) =>
        byId.set(
          m.id,
          o.members?.[j] ?? { id: m.id, status: o.status, dir: jobDir(m), ...(o.error ? { error: o.error } : {}) },
        ),
      );
  });
  return jobs.map(
    (job) =>
      byId.get(job.id) ?? {
        id: job.id,
        status: 'failed',
        dir: jobDir(job),
        error: { message: `no outcome for ${job.label}` },
      },
  );
}
