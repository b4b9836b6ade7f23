#!/usr/bin/env node
// `npm run new-pruner -- <name>` scaffolds packages/pruner-<name>: a publishable pruner package that
// depends only on the public APIs of @grokking-tickets/pruners and /models, with a working
// placeholder criterion, a test running the conformance kit, a README and a changeset. It builds,
// tests and appears in the Nx graph without touching any other file.
// Flags: --root <dir> (workspace root, default: this repo), --no-install (skip `npm install`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Fails with one line and exit code 1. */
function fail(message) {
  console.error(`new-pruner: ${message}`);
  process.exit(1);
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** The files of a new pruner package, as { relativePath: content }. */
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
    keywords: ['grokking-tickets-pruner', 'pruning', 'lottery-ticket'],
    engines: { node: '>=20' },
    scripts: { build: 'tsc -p tsconfig.json', test: 'vitest run --reporter=default --reporter=json --outputFile=test-results.json' },
    dependencies: { '@grokking-tickets/pruners': versions.pruners },
    devDependencies: { '@grokking-tickets/backend': versions.backend, '@grokking-tickets/models': versions.models },
    publishConfig: { access: 'public' },
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'tsconfig.json': JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }, null, 2) + '\n',
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

// Timeouts guard against hangs, not speed.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } });
`,
    'src/index.ts': `import { definePruner } from '@grokking-tickets/pruners';

/**
 * The ${name} pruner. Scores every prunable weight; higher scores are kept.
 * Replace the criterion below with your own: \`ctx.weights\` holds the weights being scored,
 * \`ctx.initialWeights\` θ0 (set needsInitialWeights), \`ctx.batch\` the training set (set needsData),
 * \`ctx.masks\` the current masks and \`ctx.seed\` the run seed.
 */
const ${camel}Pruner = definePruner({
  name: '${name}',
  description: '|W| (placeholder criterion: replace with yours)',
  needsData: false,
  score(ctx) {
    return Object.fromEntries(ctx.prunable.map((p) => [p, Float64Array.from(ctx.weights[p]!, Math.abs)]));
  },
});

export default ${camel}Pruner;
`,
    [`test/${name}.test.ts`]: `import { initBackend } from '@grokking-tickets/backend';
import { assertPrunerConforms } from '@grokking-tickets/pruners/testing';
import { beforeAll, expect, it } from 'vitest';
import pruner from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

it('passes the pruner conformance kit', async () => {
  await assertPrunerConforms(pruner);
});

it('is named ${name}', () => {
  expect(pruner.name).toBe('${name}');
});
`,
    'README.md': `# ${pkgName}

The \`${name}\` pruner for [grokking-tickets](../../README.md).

\`\`\`sh
npm install ${pkgName}
npx grokking-tickets ticket --pruner ${pkgName} --arms ticket,dense
\`\`\`

\`\`\`ts
import { buildMask } from '@grokking-tickets/pruners';
import pruner from '${pkgName}';
const { masks, kept, total } = await buildMask(pruner, { model, weights, seed: 0 }, { pruningRate: 0.6 });
\`\`\`

The package default-exports a \`definePruner(...)\` object and is checked by the conformance kit
(\`@grokking-tickets/pruners/testing\`).
`,
  };
}

function main(argv) {
  const args = argv.slice(2);
  const rootIdx = args.indexOf('--root');
  const root = rootIdx >= 0 ? path.resolve(args[rootIdx + 1] ?? '') : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const install = !args.includes('--no-install');
  const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--root');
  const name = positional[0];
  if (!name) fail('usage: npm run new-pruner -- <name>   (lowercase letters, digits and dashes)');
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) fail(`"${name}" is not a valid pruner name (lowercase letters, digits and single dashes, starting with a letter)`);
  const dir = path.join(root, 'packages', `pruner-${name}`);
  if (fs.existsSync(dir)) fail(`packages/pruner-${name} already exists`);
  const versionOf = (pkg) => {
    const file = path.join(root, 'packages', pkg, 'package.json');
    if (!fs.existsSync(file)) fail(`packages/${pkg} is missing; run this inside the grokking-tickets workspace`);
    return readJson(file).version;
  };
  const versions = { pruners: versionOf('pruners'), models: versionOf('models'), backend: versionOf('backend') };
  const files = prunerPackageFiles(name, versions);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const changeset = path.join(root, '.changeset', `pruner-${name}-initial.md`);
  fs.mkdirSync(path.dirname(changeset), { recursive: true });
  fs.writeFileSync(changeset, `---\n"@grokking-tickets/pruner-${name}": minor\n---\n\nNew pruner package: ${name}.\n`);
  console.log(`new-pruner: created packages/pruner-${name} (${Object.keys(files).join(', ')}) and .changeset/pruner-${name}-initial.md`);
  if (install) {
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) fail('npm install failed; run it yourself to link the new package');
  }
  console.log(`new-pruner: next: edit packages/pruner-${name}/src/index.ts, then npm test`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main(process.argv);
