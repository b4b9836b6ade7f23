import fs from 'node:fs';
import { Command } from 'commander';
import { loadPlugins, pluginOption } from './common.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerBench } from './commands/bench.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { registerReport } from './commands/report.js';
import { registerSweep } from './commands/sweep.js';
import { registerTicket } from './commands/ticket.js';
import { registerTrain } from './commands/train.js';
import { registerWorker } from './commands/worker.js';

/** This package's version, read from its package.json. */
export const VERSION: string = (
  JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Builds the `grokking-tickets` program; `exit` receives the exit code of the command that ran. * @example
 * const program = buildProgram((code) => process.exit(code));
 * await program.parseAsync(['node', 'grokking-tickets', 'train', '--p', '11', '--steps', '200', '--out',
 * 'runs/small']);
 */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('grokking-tickets')
    .description('Grokking tickets: lottery tickets accelerate grokking (arXiv 2310.19470), in TypeScript')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') })
    // Plug-ins for every command (before or after the command name): loaded before the command runs,
    // and by `bin` before the program is built, so that a plug-in task's options are flags too.
    .addOption(pluginOption())
    .hook('preAction', async (root: Command) => loadPlugins(root.opts<{ plugin?: string[] }>()))
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 runtime error (a run failed, a folder is damaged or in use), 2 usage error (bad flags, config or sweep files), 130 interrupted (Ctrl-C; --resume continues).\n',
    );
  registerTrain(program, exit);
  registerTicket(program, exit);
  registerSweep(program, exit);
  registerWorker(program, exit);
  registerDemo(program, exit);
  registerAnalyze(program, exit);
  registerReport(program, exit);
  registerBench(program, exit);
  registerExport(program, exit);
  return program;
}
