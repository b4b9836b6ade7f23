#!/usr/bin/env node
// `npm run docs:figures`: draws anew every report the docs link (Markdown + SVG figures under docs/)
// from the run and sweep folders the docs name, as `grokking-tickets report --format md` would, then
// removes the SVG files under docs/ that no Markdown file links any more.
//   npm run docs:figures                          # every report below
//   npm run docs:figures -- e7-fourier e8-overview # only these (by the name of their Markdown file)
//   npm run docs:figures -- --from <dir>           # where runs/ and sweeps/ are (default: the repository)
// A missing folder is named with the command that makes it, and nothing is written.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const sweep = (name) => `npx grokking-tickets sweep examples/paper/${name}.yaml --jobs 2`;
const TICKET_S0 =
  'npx grokking-tickets train --out runs/dense-s0 --analysis-every 500 && npx grokking-tickets ticket ' +
  '--dense runs/dense-s0 --arms ticket,dense,same-l1,same-l2,random --jobs 2 --out runs/ticket-s0';

/**
 * Every report the docs link: its Markdown file (figures are written beside it), the folders it is
 * drawn from (relative to where the commands run), its title when not the default one, and the
 * command that makes the folders (docs/reproducing-the-paper.md and docs/fourier.md give them too).
 */
export const DOC_REPORTS = [
  {
    doc: 'docs/ticket-experiment-report.md',
    folders: ['runs/ticket-s0'],
    title: 'Ticket experiment on (a + b) mod 67, seed 0',
    make: TICKET_S0,
  },
  {
    doc: 'docs/paper/e1-tickets-accelerate-grokking.md',
    folders: ['sweeps/e1-tickets-accelerate-grokking'],
    make: sweep('e1-tickets-accelerate-grokking'),
  },
  {
    doc: 'docs/paper/e1-transformer-curves.md',
    folders: ['runs/ticket-c9e8ac3985', 'runs/ticket-5acde02004', 'runs/ticket-128a6703ad'],
    title: 'E1: Transformer ticket and dense run, seeds 0-2',
    make: sweep('e1-tickets-accelerate-grokking'),
  },
  { doc: 'docs/paper/e1-mnist.md', folders: ['sweeps/e1-mnist'], make: sweep('e1-mnist') },
  {
    doc: 'docs/paper/e1-mnist-curves.md',
    folders: ['runs/ticket-f0f1bbd025'],
    title: 'E1 on MNIST: ticket and dense run, seed 0',
    make: sweep('e1-mnist'),
  },
  {
    doc: 'docs/paper/e2-same-norm-controls.md',
    folders: ['sweeps/e2-same-norm-controls'],
    make: sweep('e2-same-norm-controls'),
  },
  {
    doc: 'docs/paper/e3-no-weight-decay.md',
    folders: ['sweeps/e3-no-weight-decay'],
    make: sweep('e3-no-weight-decay'),
  },
  {
    doc: 'docs/paper/e3-no-weight-decay-transformer.md',
    folders: ['sweeps/e3-no-weight-decay-transformer'],
    make: sweep('e3-no-weight-decay-transformer'),
  },
  { doc: 'docs/paper/e4-ticket-phases.md', folders: ['sweeps/e4-ticket-phases'], make: sweep('e4-ticket-phases') },
  {
    doc: 'docs/paper/e5-pruning-at-initialisation.md',
    folders: ['sweeps/e5-pruning-at-initialisation'],
    make: sweep('e5-pruning-at-initialisation'),
  },
  {
    doc: 'docs/paper/e7-fourier.md',
    folders: ['runs/ticket-f60062f292', 'runs/ticket-22554bde54', 'runs/ticket-be6bbc04e2'],
    title: 'E7: Fourier structure, MLP seeds 0-2',
    make: sweep('e7-fourier'),
  },
  { doc: 'docs/paper/e8-overview.md', folders: ['sweeps/e8-overview'], make: sweep('e8-overview') },
  {
    doc: 'docs/paper/e8-overview-curves.md',
    folders: ['runs/ticket-6467e341cd', 'runs/ticket-fa232635ec'],
    title: 'E8: a 50 000-step dense run, its transition ticket (step 14 000) and its grokking ticket',
    make: sweep('e8-overview'),
  },
];

const nameOf = (entry) => path.basename(entry.doc, '.md');

/** One line per folder that `entries` need and `from` does not have, with the command that makes it. */
export function missingFolders(entries, from) {
  const lines = [];
  for (const e of entries)
    for (const f of e.folders)
      if (!fs.existsSync(path.join(from, f)))
        lines.push(`${e.doc} needs ${f}, which is missing in ${from}; make it with: ${e.make}`);
  return lines;
}

/** Every file under `dir` (recursively) whose name ends with `ext`. */
function filesUnder(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p, ext) : d.name.endsWith(ext) ? [p] : [];
  });
}

/** The SVG files under `docsDir` that no Markdown file under it links (by relative path). */
export function unlinkedFigures(docsDir) {
  const linked = new Set();
  for (const md of filesUnder(docsDir, '.md')) {
    const text = fs.readFileSync(md, 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s]+\.svg)\)/g)) linked.add(path.resolve(path.dirname(md), m[1]));
  }
  return filesUnder(docsDir, '.svg').filter((f) => !linked.has(path.resolve(f)));
}

/**
 * Writes the reports of `entries` (doc paths relative to `root`) from the folders under `from`, then
 * removes the SVG files under `<root>/docs` that no Markdown file links. Paths in the reports are
 * shown relative to `from`, as the documented commands show them. Returns what it wrote and removed.
 */
export async function drawDocFigures(entries, { root = ROOT, from = root, log = () => {} } = {}) {
  const { createReport, writeReport } = await import('@grokking-tickets/report');
  const written = [];
  const cwd = process.cwd();
  process.chdir(from);
  try {
    for (const e of entries) {
      const report = await createReport(e.folders, e.title ? { title: e.title } : {});
      for (const s of report.data.skipped) log(`${e.doc}: skipped ${s.reason}`);
      const files = writeReport(report, path.join(root, e.doc), 'md');
      written.push(...files);
      const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
      log(`${e.doc}: ${files.length - 1} figures, ${(bytes / 1024).toFixed(0)} KB with the Markdown`);
    }
  } finally {
    process.chdir(cwd);
  }
  const removed = unlinkedFigures(path.join(root, 'docs'));
  for (const f of removed) {
    fs.rmSync(f);
    log(`${path.relative(root, f)}: removed (no Markdown file links it)`);
  }
  return { written, removed };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let from = ROOT;
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--from' && args[i + 1]) from = path.resolve(args[++i]);
    else if (args[i].startsWith('-')) {
      console.error(`docs-figures: unknown option ${args[i]} (usage: docs-figures.mjs [--from <dir>] [report names])`);
      process.exit(2);
    } else names.push(args[i]);
  }
  const unknown = names.filter((n) => !DOC_REPORTS.some((e) => nameOf(e) === n));
  if (unknown.length) {
    console.error(`docs-figures: no report named ${unknown.join(', ')}; known: ${DOC_REPORTS.map(nameOf).join(', ')}`);
    process.exit(2);
  }
  const entries = names.length ? DOC_REPORTS.filter((e) => names.includes(nameOf(e))) : DOC_REPORTS;
  const missing = missingFolders(entries, from);
  if (missing.length) {
    for (const line of missing) console.error(`docs-figures: ${line}`);
    console.error(
      'docs-figures: nothing written; make the folders above (or pass --from <dir> where they are), ' +
        'or name only the reports whose folders you have',
    );
    process.exit(1);
  }
  try {
    await drawDocFigures(entries, { from, log: (m) => console.log(`docs-figures: ${m}`) });
  } catch (e) {
    console.error(`docs-figures: ${e.message}`);
    process.exit(1);
  }
}
