import type { Command } from 'commander';
import type { RunResult } from '@grokking-tickets/training';
import { EXIT } from './errors.js';

/** Options every command that runs something takes. */
export interface RunFlags {
  quiet?: boolean;
  json?: boolean;
}

/**
 * Runs `fn` with an AbortSignal tied to Ctrl-C and SIGTERM: the first one asks the run to save its
 * state and stop (exit code 130 follows), a second one exits at once with 130.
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Prints a value as JSON on stdout (the `--json` output of every command). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The human summary of a finished run. */
export function explainRun(result: RunResult): string {
  const s = result.summary;
  if (!s) return '';
  const fmt = (v: number | null) => (v === null ? `not reached in ${s.steps} steps` : `step ${v}`);
  return [
    `run folder: ${result.dir}`,
    `train accuracy >= 95%: ${fmt(s.stepsTo.train_acc_0_95)}`,
    `test accuracy  >= 95%: ${fmt(s.stepsTo.test_acc_0_95)}`,
    `final: train ${(s.final.train_acc * 100).toFixed(2)}%, test ${(s.final.test_acc * 100).toFixed(2)}% | ${s.wallTimeSec.toFixed(1)} s on ${s.backend} (${s.msPerStep.toFixed(2)} ms/step incl. evaluation; resolution ${s.evalEvery} steps)`,
    '',
  ].join('\n');
}

/** Adds `Examples:` lines after a command's help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
