import { RunSession, type RunOptions, type RunResult } from './session.js';
import { Trainer } from './trainer.js';

export {
  NonFiniteError,
  RunSession,
  type RunMode,
  type RunOptions,
  type RunResult,
  type RunTrainerView,
  type TrainEvent,
} from './session.js';

// Yield to the event loop every few steps so Ctrl-C (SIGINT) handlers get to run.
const YIELD_EVERY = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains one model full-batch and records everything in a run folder; resumable. Metrics logged at
 * step t describe the weights after t updates, and checkpoint `step-t` holds exactly those weights
 * (the reference's off-by-one naming is not copied, protocol §9 row 14).
 *
 * Everything that can be refused is checked before the folder is touched, the folder is locked
 * while the run writes it, and everything a resume reads is verified (see {@link RunSession}). A
 * NaN or infinity in the weights, moments or losses stops the run at the next evaluation (or
 * checkpoint) with a `NonFiniteError` naming the step and the tensor; the last good state stays.
 * @example
 * const result = await runTraining({
 *   dir: 'runs/dense-s0',
 *   config: { seed: 0 },                               // the paper's dense MLP on (a+b) mod 67
 *   onEvent: (e) => e.type === 'eval' && console.log(e.row.step, e.row.test_acc),
 * });
 * result.summary?.stepsTo.test_acc_0_95;               // the step at which it grokked (resolution: evalEvery)
 */
export async function runTraining(options: RunOptions): Promise<RunResult> {
  const session = await RunSession.open(options);
  try {
    return await trainSession(session, options);
  } finally {
    session.close();
  }
}

/** The solo training loop on an open session (the caller closes it): `runTraining` without the open. */
export async function trainSession(session: RunSession, options: RunOptions): Promise<RunResult> {
  let trainer: Trainer | undefined;
  try {
    if (session.finished) return session.alreadyFinished();
    const { config } = session;
    trainer = new Trainer({
      model: session.model,
      weights: session.initWeights,
      masks: session.masks,
      optimizer: config.optimizer,
      train: session.data.train,
      test: session.data.test,
    });
    if (session.resume) trainer.restore(session.resume.weights, session.resume.opt);
    const t = trainer;
    let elapsedMs = session.elapsedMs;
    session.started();
    let t0 = performance.now();
    for (let step = session.startStep; ; step++) {
      if (step % config.evalEvery === 0 || step === config.steps) {
        const row = t.evaluate();
        session.guard(t, step, row);
        if (session.analysisDue(step)) Object.assign(row, session.analyze(t));
        elapsedMs += performance.now() - t0;
        t0 = performance.now();
        session.record(row, elapsedMs);
      }
      if (step === config.steps) break;
      if (session.checkpointDue(step)) await session.checkpoint(t, step);
      if (session.resumeDue(step)) await session.saveResume(t, elapsedMs + (performance.now() - t0));
      if (step % YIELD_EVERY === 0) {
        await yieldToEventLoop();
        if (options.signal?.aborted) return await session.interrupted(t, elapsedMs + (performance.now() - t0));
      }
      t.step();
    }
    elapsedMs += performance.now() - t0;
    return await session.finish(t, elapsedMs);
  } finally {
    trainer?.dispose();
  }
}
