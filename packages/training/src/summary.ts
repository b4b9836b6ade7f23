import { firstStepReaching } from '@grokking-tickets/grokking-metrics';
import type { EvalRow } from './trainer.js';

/** What `summary.json` holds for a finished run. */
export interface RunSummary {
  status: 'finished';
  steps: number;
  final: Pick<EvalRow, 'train_loss' | 'train_acc' | 'test_loss' | 'test_acc' | 'l1_global' | 'l2_global'>;
  /** First evaluated step reaching each threshold (null: not within the run). */
  stepsTo: {
    train_acc_0_95: number | null;
    train_acc_0_99: number | null;
    test_acc_0_95: number | null;
    test_acc_0_99: number | null;
    test_acc_1_0: number | null;
  };
  /** Resolution of stepsTo (the evaluation interval). */
  evalEvery: number;
  backend: string;
  wallTimeSec: number;
  msPerStep: number;
}

/** Builds the summary from every metrics row of a run (pure). */
export function summarize(
  rows: readonly EvalRow[],
  info: { steps: number; evalEvery: number; backend: string; elapsedMs: number },
): RunSummary {
  const last = rows[rows.length - 1];
  if (!last) throw new Error('cannot summarise a run with no metrics');
  return {
    status: 'finished',
    steps: info.steps,
    final: {
      train_loss: last.train_loss,
      train_acc: last.train_acc,
      test_loss: last.test_loss,
      test_acc: last.test_acc,
      l1_global: last.l1_global,
      l2_global: last.l2_global,
    },
    stepsTo: {
      train_acc_0_95: firstStepReaching(rows, 'train_acc', 0.95),
      train_acc_0_99: firstStepReaching(rows, 'train_acc', 0.99),
      test_acc_0_95: firstStepReaching(rows, 'test_acc', 0.95),
      test_acc_0_99: firstStepReaching(rows, 'test_acc', 0.99),
      test_acc_1_0: firstStepReaching(rows, 'test_acc', 1),
    },
    evalEvery: info.evalEvery,
    backend: info.backend,
    wallTimeSec: Math.round(info.elapsedMs) / 1000,
    msPerStep: info.steps > 0 ? Math.round((info.elapsedMs / info.steps) * 1000) / 1000 : 0,
  };
}
