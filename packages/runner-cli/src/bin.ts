#!/usr/bin/env node
import { buildProgram } from './cli.js';

// Every failure is one line on stderr and a non-zero exit: no stack traces for users.
process.on('unhandledRejection', (e) => fail(e));
process.on('uncaughtException', (e) => fail(e));

function fail(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`grokking-tickets: error: ${message.split('\n')[0]}\n`);
  if (process.env.GROKKING_TICKETS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(typeof (e as { exitCode?: unknown })?.exitCode === 'number' ? (e as { exitCode: number }).exitCode : 1);
}

const program = buildProgram((code) => {
  process.exitCode = code;
});
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});
try {
  await program.parseAsync(process.argv);
} catch (e) {
  fail(e);
}
