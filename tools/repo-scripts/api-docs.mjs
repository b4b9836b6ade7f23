#!/usr/bin/env node
// Builds the API reference from the doc comments (TypeDoc, typedoc.json: HTML in docs/api and a JSON
// model beside it; any TypeDoc warning fails), then checks that the main entry points of every
// package carry an @example. Exit code 1 on any problem. Run by .ci/run; `npm run docs:api`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The entry points that must show an @example, per package. */
export const MAIN_ENTRY_POINTS = {
  '@grokking-tickets/backend': ['initBackend', 'crossEntropy'],
  '@grokking-tickets/datasets': ['modularArithmetic', 'loadMnist'],
  '@grokking-tickets/grokking-metrics': ['frequencyEntropy', 'weightNorms', 'restrictedLoss', 'structuralDynamics'],
  '@grokking-tickets/mask-graph': ['maskGraphMetrics', 'graphMetrics'],
  '@grokking-tickets/models': ['createModel', 'initialWeights', 'toReferenceStateDict'],
  '@grokking-tickets/pruners': ['buildMask', 'loadPruner', 'definePruner'],
  '@grokking-tickets/pruner-magnitude-increase': ['default'],
  '@grokking-tickets/run-store': ['RunStore', 'saveCheckpoint'],
  '@grokking-tickets/training': ['runTraining', 'resolveTrainConfig'],
  '@grokking-tickets/registry': ['createRegistry', 'usePlugins'],
  '@grokking-tickets/experiment-format': ['experimentFolders'],
  '@grokking-tickets/experiments': ['planSweep', 'planTicket', 'registerArm'],
  '@grokking-tickets/scheduler': ['runTicket', 'runSweep', 'createWorkerThreadExecutor'],
  '@grokking-tickets/runner-cli': ['buildProgram'],
};

const out = path.join(root, 'docs', 'api', 'api.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--json', out], {
    cwd: root,
    stdio: 'inherit',
  });
} catch {
  process.stderr.write('api-docs: TypeDoc failed (see above)\n');
  process.exit(1);
}
const api = JSON.parse(fs.readFileSync(out, 'utf8'));
const hasExample = (node) =>
  [node.comment, ...(node.signatures ?? []).map((s) => s.comment)].some((c) =>
    c?.blockTags?.some((t) => t.tag === '@example'),
  );
const problems = [];
for (const [pkg, names] of Object.entries(MAIN_ENTRY_POINTS)) {
  const pkgNode = api.children?.find((c) => c.name === pkg);
  // A package with subpath exports (typedocOptions.entryPoints) is a module of modules; its main
  // entry point is the one named "index".
  const mod = pkgNode?.children?.some((c) => c.kind === 2) ? pkgNode.children.find((c) => c.name === 'index') : pkgNode;
  if (!mod) {
    problems.push(`${pkg}: not in the API reference`);
    continue;
  }
  for (const name of names) {
    const node = mod.children?.find((c) => c.name === name);
    if (!node) problems.push(`${pkg}: ${name} is not exported`);
    else if (!hasExample(node)) problems.push(`${pkg}: ${name} has no @example`);
  }
}
for (const p of problems) process.stderr.write(`api-docs: ${p}\n`);
if (problems.length) process.exit(1);
process.stdout.write(
  `api-docs: docs/api written; ${Object.values(MAIN_ENTRY_POINTS).flat().length} main entry points have an @example\n`,
);
