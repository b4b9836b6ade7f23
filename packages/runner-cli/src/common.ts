import { Option, type Command } from 'commander';
import { PluginError, registryKeys, unclaimedPluginKeys, usePlugins } from '@grokking-tickets/registry';
import type { RunResult } from '@grokking-tickets/training';
import { EXIT, UsageError } from './errors.js';
import { stringFlag } from './flags.js';

/** Options every command that runs something takes. */
export interface RunFlags {
  quiet?: boolean;
  json?: boolean;
  /** `--plugin` modules. */
  plugin?: string[];
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

/**
 * `--plugin <module>`, repeatable: a plug-in module (an installed package name or a path) whose
 * default export adds models, tasks, arms, pruners or report sources. Loaded in this process and in
 * every process a run starts (worker threads, child processes); queue workers take their own.
 */
export function pluginOption(): Option {
  return new Option(
    '--plugin <module>',
    'a plug-in module (package name or path) adding models, tasks, arms, pruners or report sources; repeat for several',
  ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), stringFlag('--plugin')(v)]);
}

/** The `--plugin` values of a command line (also `--plugin=x`), read before the program is built. */
export function pluginsInArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--plugin' && i + 1 < argv.length) out.push(argv[++i]!);
    else if (a.startsWith('--plugin=')) out.push(a.slice('--plugin='.length));
  }
  return out.filter((p) => p.trim() !== '');
}

/**
 * Loads the plug-ins named with `--plugin` (and the given extra specs, e.g. plug-in pruners):
 * a module that cannot be loaded, or that lists entries under a key no registry takes, is a usage
 * error (exit code 2).
 */
export async function loadPlugins(opts: { plugin?: string[] }, extra: readonly string[] = []): Promise<void> {
  try {
    await usePlugins([...(opts.plugin ?? []), ...extra]);
  } catch (e) {
    if (e instanceof PluginError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  const unclaimed = unclaimedPluginKeys();
  if (unclaimed.length > 0)
    throw new UsageError(
      `a plug-in lists ${unclaimed.map((k) => `"${k}"`).join(', ')}, which no registry takes (registries: ${registryKeys().join(', ')})`,
    );
}
