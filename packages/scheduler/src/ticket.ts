import fs from 'node:fs';
import path from 'node:path';
import {
  ExperimentError,
  buildTicketSummary,
  openDenseRun,
  planTicket,
  readTicketRecord,
  saveTicketMask,
  ticketIdentity,
  type DenseSource,
  type JobOutcome,
  type TicketConfigInput,
  type TicketRecord,
  type TicketSummary,
} from '@grokking-tickets/experiments';
import { LOCK_FILE, RunFolderError, RunStore } from '@grokking-tickets/run-store';
import type { RunMode, TrainEvent } from '@grokking-tickets/training';
import { createInProcessExecutor, createWorkerThreadExecutor, type Executor } from './executors.js';
import { runPlan } from './runPlan.js';
import { DEFAULT_STACK } from './stacking.js';

/** Progress of a ticket experiment: which phase, and training events tagged with the arm. */
export type TicketEvent = { type: 'phase'; message: string } | { type: 'train'; arm: string; event: TrainEvent };

/** Options of `runTicket`. */
export interface TicketOptions {
  config?: TicketConfigInput;
  /** Parent folder: `ticket.json`, `masks/`, `dense-source/` (unless reused), `arms/<arm>/`, `ticket-summary.json`. */
  dir: string;
  mode?: RunMode;
  /** Run up to this many jobs at once in worker threads (default 1: in this thread). */
  jobs?: number;
  /** Or run the jobs with this executor (overrides `jobs`' choice of executor). */
  executor?: Executor;
  /**
   * Train up to this many arms as one stacked computation (runs of one model and task; results
   * bit-identical to training them one by one on WASM). 1 turns stacking off. Default
   * {@link DEFAULT_STACK}, as for sweeps.
   */
  stack?: number;
  signal?: AbortSignal;
  onEvent?: (event: TicketEvent) => void;
  /** Folder that relative pruner paths are resolved from (default: process.cwd()). */
  cwd?: string;
}

/** Entries of an experiment folder; `--force` removes these and nothing else. */
const EXPERIMENT_ENTRIES = ['ticket.json', 'ticket-summary.json', 'masks', 'arms', 'dense-source'];

/** True when `p` is a file, or a folder holding a file at any depth (temp files and locks do not count). */
function holdsFiles(p: string): boolean {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return false;
  if (!st.isDirectory()) return !p.endsWith('.tmp') && path.basename(p) !== LOCK_FILE;
  return fs.readdirSync(p).some((e) => holdsFiles(path.join(p, e)));
}

/** A run of the plan that failed, as the error its job reported (message and code kept). */
class RunFailedError extends Error {
  override name = 'RunFailedError';
  readonly code: string;
  constructor(message: string, code = 'GT_RUNTIME') {
    super(message);
    this.code = code;
  }
}

/**
 * The grokking-ticket experiment (protocol §6): train (or reuse) a dense run, score the checkpoint at
 * `fromStep` with the pruner, mask at the pruning rate, rewind, and retrain every requested arm —
 * the ticket, the dense baseline, same-L1/L2 dense controls, a random mask, and pruning at
 * initialisation (SNIP, GraSP, SynFlow on θ0) — each in its own resumable run folder.
 *
 * A ticket experiment is a sweep of one point: `planTicket` checks everything and plans the same
 * graph of runs a sweep makes, and the one scheduler (`runPlan`) runs it with the one stacking
 * policy. Everything is validated before a folder is created or a step trained (config by schema,
 * the pruner by a dry run on θ0, a reused dense run and its checkpoints by hash and checksum); the
 * experiment folder is locked while it runs; `ticket.json` is verified against its identity hash on
 * every read, and a plug-in pruner is loaded only from `config.pruner` as given in this call.
 * @example
 * const { summary } = await runTicket({
 *   dir: 'runs/ticket-s0',
 *   config: { denseDir: 'runs/dense-s0', pruningRate: 0.6, arms: ['ticket', 'same-l1', 'same-l2', 'random'] },
 *   jobs: 2,
 * });
 * summary?.arms.map((a) => [a.arm, a.stepsToTest95, a.speedupVsDense]);
 */
export async function runTicket(
  options: TicketOptions,
): Promise<{ status: 'finished' | 'interrupted'; summary?: TicketSummary }> {
  const emit = options.onEvent ?? (() => {});
  const { config, dense: reused, pruner, denseDir, plan } = await planTicket(options);
  const mode = options.mode ?? 'new';
  const store = new RunStore(options.dir);
  const lock = store.lock('grokking-tickets ticket');
  try {
    if (mode === 'resume' && readTicketRecord(options.dir).identity !== ticketIdentity(config)) {
      throw new RunFolderError(`${options.dir} changed while it was being checked; run the command again`);
    }
    if (mode !== 'resume') {
      const hasRecord = fs.existsSync(store.file('ticket.json'));
      if (hasRecord && mode === 'new')
        throw new RunFolderError(
          `${options.dir} already exists; pass --resume to continue it or --force to replace it`,
        );
      const entries = fs.readdirSync(options.dir).filter((e) => e !== LOCK_FILE && !e.endsWith('.tmp'));
      const foreign = entries.filter((e) => !EXPERIMENT_ENTRIES.includes(e));
      if (foreign.length > 0 && !hasRecord)
        throw new RunFolderError(
          `${options.dir} is not empty and holds no experiment (it has ${foreign[0]}); choose another --out`,
        );
      if (mode === 'new' && entries.some((e) => holdsFiles(store.file(e)))) {
        throw new RunFolderError(
          `${options.dir} holds parts of an experiment but no ticket.json; pass --force to start it again`,
        );
      }
      // --force replaces the whole experiment: stale arms must not be resumed as if they were new.
      for (const entry of EXPERIMENT_ENTRIES) fs.rmSync(store.file(entry), { recursive: true, force: true });
      store.writeJson('ticket.json', { config, identity: ticketIdentity(config) } satisfies TicketRecord);
    }

    const executor =
      options.executor ??
      ((options.jobs ?? 1) > 1
        ? createWorkerThreadExecutor({ concurrency: options.jobs! })
        : createInProcessExecutor());
    // The ticket mask, for the summary and as an artefact (each arm recomputes what it needs):
    // made once the dense run has finished, before the first arm starts.
    const made: { mask?: Promise<Awaited<ReturnType<typeof saveTicketMask>>>; dense?: DenseSource } = {};
    let maskError: unknown = null;
    const makeMask = () =>
      (made.mask ??= (async () => {
        const dense = reused ?? (await openDenseRun(denseDir, config.fromStep, config.rewindStep));
        made.dense = dense;
        emit({
          type: 'phase',
          message: `scoring ${dense.scoredCheckpoint} with ${pruner.name}, pruning rate ${config.pruningRate}`,
        });
        return saveTicketMask(options.dir, config, dense, pruner);
      })());
    const outcomes = await runPlan({
      plan: plan,
      runsDir: options.dir,
      executor,
      jobs: options.jobs ?? 1,
      stack: options.stack ?? DEFAULT_STACK,
      signal: options.signal,
      // A reused dense run is an input, verified by planTicket: never trained here.
      done: new Map(
        plan.runs
          .filter((r) => r.external)
          .map((r): [string, JobOutcome] => [r.id, { id: r.id, status: 'already-finished', dir: denseDir }]),
      ),
      jobFor: (run, job) =>
        run.role === 'dense-source' && job.kind === 'train'
          ? { ...job, command: 'grokking-tickets ticket (dense run)' }
          : job,
      beforeArms: async () => {
        try {
          await makeMask();
        } catch (e) {
          maskError = e;
          throw e;
        }
      },
      onStart: (run) => {
        if (run.role === 'dense-source') emit({ type: 'phase', message: `dense run → ${denseDir}` });
      },
      onEvent: (run, event) => emit({ type: 'train', arm: run.arm ?? 'dense-source', event }),
    });
    const denseRun = plan.runs.find((r) => r.role === 'dense-source')!;
    const denseOutcome = outcomes.get(denseRun.id);
    if (denseOutcome?.status === 'failed')
      throw new RunFailedError(denseOutcome.error?.message ?? 'the dense run failed', denseOutcome.error?.code);
    if (maskError) throw maskError;
    const byArm = new Map<string, JobOutcome>();
    for (const run of plan.runs) {
      const o = outcomes.get(run.id);
      if (run.role === 'arm' && run.arm && o) byArm.set(run.arm, o);
    }
    if (options.signal?.aborted || config.arms.some((a) => byArm.get(a)?.status === 'interrupted' || !byArm.has(a)))
      return { status: 'interrupted' };
    const failed = config.arms.map((a) => byArm.get(a)!).filter((o) => o.status === 'failed');
    if (failed.length > 0) {
      throw new ExperimentError(
        `${failed.length} arm${failed.length > 1 ? 's' : ''} failed: ${failed.map((f) => `${f.id}: ${f.error?.message}`).join('; ')}`,
      );
    }
    // When no arm had to train (all reused), the mask was not made on the way: it is made now.
    const ticket = await makeMask();
    const summary = await buildTicketSummary(config, denseDir, made.dense!, ticket, byArm);
    store.writeJson('ticket-summary.json', summary);
    return { status: 'finished', summary };
  } finally {
    lock.release();
  }
}
