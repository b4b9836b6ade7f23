#!/usr/bin/env node
// `npm run new-pruner -- <name>` scaffolds packages/pruner-<name>: a publishable pruner package that
// depends only on the public APIs of @grokking-tickets/pruners and /models, with a working
// placeholder criterion (|W|), a test running the conformance kit, a README and a changeset. It
// builds, tests and appears in the Nx graph without touching any other file (Nx finds workspace
// packages through the root package.json's "workspaces"; `npm install` links it and updates the
// lock file).
// Flags: --root <dir> (workspace root, default: this repo), --no-install (skip `npm install`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE =
  'usage: npm run new-pruner -- <name> [--no-install] [--root <dir>]   (name: lowercase letters, digits and dashes)';

/** Fails with one line and exit code 1. */
function fail(message) {
  console.error(`new-pruner: ${message}`);
  process.exit(1);
}

/** True for a valid pruner name: lowercase letters, digits and single dashes, starting with a letter. */
export function isValidPrunerName(name) {
  return /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name);
}

/**
 * The files of a new pruner package, as { relativePath: content } (relative to packages/pruner-<name>).
 * `versions` holds the exact versions of the sibling packages: { pruners, models, backend }.
 */
export function prunerPackageFiles(name, versions) {
  const pkgName = `@grokking-tickets/pruner-${name}`;
  const camel = name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  const pkg = {
    name: pkgName,
    version: '0.1.0',
    description: `The ${name} pruner for grokking-tickets`,
    license: 'MIT',
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    files: ['dist', 'README.md'],
    keywords: ['grokking-tickets-pruner', 'grokking-tickets', 'pruning', 'lottery-ticket'],
    engines: { node: '>=20' },
    scripts: {
      build: 'tsc -p tsconfig.json',
      test: 'vitest run --reporter=default --reporter=json --outputFile=test-results.json',
    },
    // The pruner's public type (ScoringContext) is made of @grokking-tickets/models types.
    dependencies: { '@grokking-tickets/models': versions.models, '@grokking-tickets/pruners': versions.pruners },
    // The test initialises the tfjs backend before running the conformance kit.
    devDependencies: { '@grokking-tickets/backend': versions.backend },
    publishConfig: { access: 'public' },
  };
  const tsconfig = {
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist' },
    include: ['src'],
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'tsconfig.json': JSON.stringify(tsconfig, null, 2) + '\n',
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

// Generous timeouts: these guard against hangs, not speed.
// Nx runs several packages' tests at once, so a few-second test can take far longer.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
`,
    'src/index.ts': `/**
 * ${pkgName} — the \`${name}\` pruning criterion for grokking-tickets.
 *
 * The package default-exports a Pruner (the contract of @grokking-tickets/pruners), so that
 * \`grokking-tickets ticket --pruner ${pkgName}\` and \`loadPruner('${pkgName}')\` find it.
 */
import { definePruner } from '@grokking-tickets/pruners';

/**
 * The \`${name}\` pruner: scores every prunable weight, higher = more important (kept).
 *
 * The criterion below is the placeholder the scaffold starts from, plain magnitude |W|; it is a
 * working pruner. Change it to yours: \`ctx.weights\` holds the weights being scored (every
 * parameter), \`ctx.prunable\` the names to score, \`ctx.masks\` the current masks, \`ctx.seed\` the
 * seed of stochastic criteria; \`ctx.initialWeights\` holds θ0 when \`needsInitialWeights\` is true
 * and \`ctx.batch\` the training set when \`needsData\` is true.
 */
const ${camel}Pruner = definePruner({
  name: '${name}',
  description: 'magnitude |W| (placeholder criterion from the scaffold)',
  needsData: false,
  score(ctx) {
    return Object.fromEntries(ctx.prunable.map((p) => [p, Float64Array.from(ctx.weights[p]!, Math.abs)]));
  },
});

export default ${camel}Pruner;
`,
    [`test/${name}.test.ts`]: `import { initBackend } from '@grokking-tickets/backend';
import { assertPrunerConforms } from '@grokking-tickets/pruners/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import pruner from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('${name} pruner', () => {
  it('passes the pruner conformance kit', async () => {
    await assertPrunerConforms(pruner);
  });

  it('is named ${name}', () => {
    expect(pruner.name).toBe('${name}');
  });
});
`,
    'README.md': `# ${pkgName}

The \`${name}\` pruning criterion for [grokking-tickets](../../README.md), in its own package. It
default-exports a \`Pruner\` (see \`@grokking-tickets/pruners\`) and passes the conformance kit
(\`@grokking-tickets/pruners/testing\`).

Criterion: |W| (the scaffold's placeholder; describe yours here).

## From the CLI

\`\`\`sh
npm install ${pkgName}
npx grokking-tickets ticket --pruner ${pkgName}
\`\`\`

The CLI resolves \`--pruner\` as a built-in name, else an installed package (its default export),
else a module path.

## From code

\`\`\`js
// example.mjs — node example.mjs
import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { buildMask } from '@grokking-tickets/pruners';
import pruner from '${pkgName}';

await initBackend();
const model = createModel('mlp');         // the reference MLP (115 000 prunable weights)
const theta0 = initialWeights(model, 0);  // θ0
const thetaT = initialWeights(model, 1);  // stand-in for the trained weights θ_t
// add \`batch\` (the training set) to the context when your pruner sets needsData
const { kept, total, perTensor } = await buildMask(pruner, { model, weights: thetaT, initialWeights: theta0, seed: 0 }, { pruningRate: 0.6 });
console.log(\`kept \${kept} of \${total} weights\`, perTensor.W_in);
\`\`\`

## Development

\`\`\`sh
npx nx run ${pkgName}:test   # builds the dependencies, then runs the conformance kit
\`\`\`
`,
  };
}

/** Parses argv (without node and the script); fails with one line on bad usage. */
function parseArgs(args) {
  const out = { root: undefined, install: true, names: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--no-install') out.install = false;
    else if (a === '--root') {
      const dir = args[++i];
      if (!dir || dir.startsWith('--')) fail('--root needs a directory');
      out.root = path.resolve(dir);
    } else if (a.startsWith('--root=')) out.root = path.resolve(a.slice('--root='.length));
    else if (a.startsWith('-')) fail(`unknown option ${a}; ${USAGE}`);
    else out.names.push(a);
  }
  return out;
}

function main(argv) {
  const args = parseArgs(argv.slice(2));
  const root = args.root ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  if (args.names.length !== 1)
    fail(args.names.length === 0 ? USAGE : `one name expected, got ${args.names.length}; ${USAGE}`);
  const name = args.names[0];
  if (!isValidPrunerName(name))
    fail(`"${name}" is not a valid pruner name (lowercase letters, digits and single dashes, starting with a letter)`);
  const rel = path.posix.join('packages', `pruner-${name}`);
  const dir = path.join(root, rel);
  if (fs.existsSync(dir)) fail(`${rel} already exists`);
  const changesetRel = path.posix.join('.changeset', `pruner-${name}-initial.md`);
  const changeset = path.join(root, changesetRel);
  if (fs.existsSync(changeset)) fail(`${changesetRel} already exists`);
  const versionOf = (pkg) => {
    const file = path.join(root, 'packages', pkg, 'package.json');
    if (!fs.existsSync(file))
      fail(`packages/${pkg}/package.json is missing; run this inside the grokking-tickets workspace (or pass --root)`);
    const version = JSON.parse(fs.readFileSync(file, 'utf8')).version;
    if (typeof version !== 'string') fail(`packages/${pkg}/package.json has no version`);
    return version;
  };
  const versions = { pruners: versionOf('pruners'), models: versionOf('models'), backend: versionOf('backend') };

  const files = prunerPackageFiles(name, versions);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  fs.mkdirSync(path.dirname(changeset), { recursive: true });
  fs.writeFileSync(
    changeset,
    `---\n"@grokking-tickets/pruner-${name}": minor\n---\n\nNew pruner package @grokking-tickets/pruner-${name} (scaffolded with the placeholder criterion |W|).\n`,
  );

  console.log(`new-pruner: created @grokking-tickets/pruner-${name}:`);
  for (const file of Object.keys(files)) console.log(`  ${rel}/${file}`);
  console.log(`  ${changesetRel}`);
  console.log(
    `  (depends on @grokking-tickets/pruners ${versions.pruners} and @grokking-tickets/models ${versions.models}; dev: @grokking-tickets/backend ${versions.backend})`,
  );
  if (args.install) {
    console.log(
      'new-pruner: npm install --no-audit --no-fund (links the workspace package, updates package-lock.json)',
    );
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: 'inherit',
      shell: process.platform === 'win32',
    });
    if (r.status !== 0) fail('npm install failed; run `npm install` at the root yourself to link the new package');
  } else {
    console.log('new-pruner: skipped npm install (--no-install); run `npm install` at the root to link the package');
  }
  console.log(
    `new-pruner: next: write your criterion in ${rel}/src/index.ts, then \`npx nx run @grokking-tickets/pruner-${name}:test\``,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main(process.argv);
