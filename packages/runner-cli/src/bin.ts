#!/usr/bin/env node
import { CommanderError } from 'commander';
import { loadPlugins, pluginsInArgv } from './common.js';
import { EXIT, exitCodeOf } from './errors.js';
import { buildProgram } from './program.js';

// Every failure is one line on stderr and a non-zero exit: no stack traces for users
// (GROKKING_TICKETS_DEBUG=1 prints them). 2 = usage error, 1 = runtime error, 130 = interrupted.
process.on('unhandledRejection', (e) => fail(e));
process.on('uncaughtException', (e) => fail(e));

function fail(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`grokking-tickets: error: ${message.split('\n')[0]}\n`);
  if (process.env.GROKKING_TICKETS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(exitCodeOf(e));
}

// Plug-ins first: a plug-in task's options and a plug-in model's options become flags of the program.
try {
  await loadPlugins({ plugin: pluginsInArgv(process.argv.slice(2)) });
} catch (e) {
  fail(e);
}
const program = buildProgram((code) => {
  process.exitCode = code;
});
// --help and --version exit 0; every parse error (unknown option, bad value) is a usage error.
const usageExit = (err: CommanderError) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
program.exitOverride(usageExit);
for (const cmd of program.commands) cmd.exitOverride(usageExit);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  fail(e);
}
