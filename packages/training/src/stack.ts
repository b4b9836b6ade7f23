import { ConfigError, resolveTrainConfig } from './config.js';
import { RunSession, type RunOptions, type RunResult } from './session.js';
import { canStack, StackedTrainer } from './stackedTrainer.js';
import { trainSession } from './run.js';

/** What became of one run of a stack: its result, or the one-line error that stopped it alone. */
export interface StackOutcome {
  dir: string;
  result?: RunResult;
  error?: Error;
}

/** Options of a whole stack (each run keeps its own RunOptions). */
export interface StackOptions {
  /** Abort to stop every run of the stack cleanly (each saves its resume state). */
  signal?: AbortSignal;
}

const YIELD_EVERY = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What runs must share to train in one stack: model kind and options, backend, and data sizes
 * (task name and options except the seed-dependent split). Runs with equal keys may be stacked.
 */
export function stackKey(config: {
  model: Record<string, unknown>;
  task: Record<string, unknown>;
  backend: string;
}): string {
  return JSON.stringify({ model: config.model, task: config.task, backend: config.backend });
}

/**
 * Trains several runs of one model kind and task as one stacked computation ({@link StackedTrainer}),
 * each in its own run folder exactly as `runTraining` would leave it: the same config.json and hash,
 * metrics rows (bit-identical on WASM), checkpoints, resume state and summary, so a stacked run can be
 * resumed solo and vice versa. Each run gets a {@link RunSession} (validation, lock, resume
 * verification, guard). Runs may differ in seed, initial weights, masks, optimiser settings and step
 * counts, and may resume from different steps.
 *
 * - A run that reaches its step count finishes (final checkpoint, summary) and is **frozen** in the
 *   stack (masked out of the update; its slot is still computed until the stack ends), not dropped.
 * - A run that diverges stops alone with the same one-line `NonFiniteError` as a solo run (in its
 *   outcome's `error`); its folder keeps the last good state, and the others go on.
 * - A run that had already finished is reported `already-finished` and not trained.
 * - A run whose folder cannot be opened (bad config, locked, damaged) fails alone with that error.
 * - Runs whose configs cannot share a stack (different model, task or backend), or a model with no
 *   stacked forward pass, are refused with a ConfigError before any training.
 *
 * `wallTimeSec` in a stacked run's summary is the stack's wall time while the run trained (shared
 * with the other runs of the stack).
 */
export async function runStack(runs: RunOptions[], stackOptions: StackOptions = {}): Promise<StackOutcome[]> {
  const outcomes: StackOutcome[] = runs.map((o) => ({ dir: o.dir }));
  // Refuse incompatible new runs before any folder is touched (resumed runs are checked once open).
  const given = new Set<string>();
  for (const o of runs) {
    if (o.mode === 'resume' || o.config === undefined) continue;
    try {
      given.add(stackKey(resolveTrainConfig(o.config)));
    } catch {
      // a bad config fails its own run when opened
    }
  }
  if (given.size > 1)
    throw new ConfigError(
      `runStack: these runs cannot share a stack (their model, task or backend differ): ${runs.map((o) => o.dir).join(', ')}`,
    );
  const sessions: Array<RunSession | null> = [];
  try {
    for (const [i, options] of runs.entries()) {
      try {
        const session = await RunSession.open(options);
        sessions.push(session);
        if (session.finished) outcomes[i]!.result = session.alreadyFinished();
      } catch (e) {
        sessions.push(null);
        outcomes[i]!.error = e as Error;
      }
    }
    const live = sessions.flatMap((s, i) => (s && !s.finished ? [{ s, i }] : []));
    if (live.length === 0) return outcomes;
    const keys = new Set(live.map(({ s }) => stackKey(s.config as never)));
    if (keys.size > 1)
      throw new ConfigError(
        `runStack: these runs cannot share a stack (their model, task or backend differ): ${live.map(({ s }) => s.options.dir).join(', ')}`,
      );
    const model = live[0]!.s.model;
    if (!canStack(model)) {
      // A model without a stacked forward pass: the solo loop, one run at a time, in the same folders.
      for (const { s, i } of live) {
        try {
          outcomes[i]!.result = await trainSession(s, { ...runs[i]!, signal: runs[i]!.signal ?? stackOptions.signal });
        } catch (e) {
          outcomes[i]!.error = e as Error;
        }
      }
      return outcomes;
    }
    await trainStack(live, runs, outcomes, model, stackOptions);
    return outcomes;
  } finally {
    for (const s of sessions) s?.close();
  }
}

async function trainStack(
  live: Array<{ s: RunSession; i: number }>,
  runs: RunOptions[],
  outcomes: StackOutcome[],
  model: RunSession['model'],
  stackOptions: StackOptions,
): Promise<void> {
  const trainer = new StackedTrainer({
    model,
    members: live.map(({ s }) => ({
      weights: s.initWeights,
      masks: s.masks,
      optimizer: s.config.optimizer,
      train: s.data.train,
      test: s.data.test,
      resume: s.resume ? { weights: s.resume.weights, state: s.resume.opt } : undefined,
    })),
  });
  try {
    const elapsed = live.map(({ s }) => s.elapsedMs);
    const views = live.map((_, r) => trainer.view(r));
    const fail = (r: number, e: unknown) => {
      outcomes[live[r]!.i]!.error = e as Error;
      trainer.freeze(r);
    };
    for (const { s } of live) s.started();
    let t0 = performance.now();
    const tick = () => {
      const now = performance.now();
      live.forEach((_, r) => {
        if (trainer.isActive(r)) elapsed[r]! += now - t0;
      });
      t0 = now;
    };
    for (let iteration = 0; trainer.activeCount > 0; iteration++) {
      // Evaluation rows for the runs that are due one (computed for the whole stack at once).
      let rows: ReturnType<StackedTrainer['evaluate']> | null = null;
      for (const [r, { s }] of live.entries()) {
        if (!trainer.isActive(r)) continue;
        const step = trainer.updates(r);
        const steps = s.config.steps;
        try {
          if (step % s.config.evalEvery === 0 || step === steps) {
            rows ??= trainer.evaluate();
            const row = rows[r]!;
            s.guard(views[r]!, step, row);
            if (s.analysisDue(step)) Object.assign(row, s.analyze(views[r]!));
            tick();
            s.record(row, elapsed[r]!);
          }
          if (step === steps) {
            tick();
            outcomes[live[r]!.i]!.result = await s.finish(views[r]!, elapsed[r]!);
            trainer.freeze(r);
            continue;
          }
          if (s.checkpointDue(step)) await s.checkpoint(views[r]!, step);
          if (s.resumeDue(step)) {
            tick();
            await s.saveResume(views[r]!, elapsed[r]!);
          }
        } catch (e) {
          fail(r, e);
        }
      }
      if (trainer.activeCount === 0) break;
      if (iteration % YIELD_EVERY === 0) {
        await yieldToEventLoop();
        const aborted =
          stackOptions.signal?.aborted || live.some(({ i }, r) => trainer.isActive(r) && runs[i]!.signal?.aborted);
        if (aborted) {
          tick();
          for (const [r, { s, i }] of live.entries()) {
            if (!trainer.isActive(r)) continue;
            try {
              outcomes[i]!.result = await s.interrupted(views[r]!, elapsed[r]!);
            } catch (e) {
              outcomes[i]!.error = e as Error;
            }
            trainer.freeze(r);
          }
          break;
        }
      }
      trainer.step();
    }
  } finally {
    trainer.dispose();
  }
}
