#!/usr/bin/env node
// The `grokking-tickets` command. This file is committed (not built) so that `npm ci` in a clone
// always links the command, and `npx grokking-tickets` can never fall through to the public
// registry; it runs the compiled CLI, which the repository's `npm ci` builds (root `prepare`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'grokking-tickets: error: the CLI is not built yet (dist/bin.js is missing); run `npm run build` in the repository\n',
  );
  process.exit(1);
}
await import(cli.href);
