import fs from 'node:fs';
import path from 'node:path';
import { SWEEP_FORMAT } from '@grokking-tickets/experiment-format';
import { RunFolderError, RunStore } from '@grokking-tickets/run-store';
import { plannedRunDir } from './jobs.js';
import type { SweepPlan } from './plan.js';
import { readTicketRecord, type TicketRecord } from './ticket.js';

/** The resolved sweep as written to sweep.json (the file the report reads with the results). */
export function sweepRecord(
  plan: SweepPlan,
  sweepDir: string,
  runsDir: string,
  source?: string,
): Record<string, unknown> {
  const rel = (p: string) => path.relative(sweepDir, p) || '.';
  return {
    format: SWEEP_FORMAT,
    name: plan.spec.name,
    ...(plan.spec.description !== undefined ? { description: plan.spec.description } : {}),
    kind: plan.spec.kind,
    ...(source ? { source: path.resolve(source) } : {}),
    runsDir: rel(path.resolve(runsDir)),
    base: plan.spec.base,
    axes: plan.spec.axes,
    points: plan.points,
    experiments: plan.experiments.map((e) => ({
      identity: e.identity,
      dir: rel(path.resolve(runsDir, e.folder)),
      denseRun: e.denseRun,
      ...(e.denseArm ? { denseArm: e.denseArm } : {}),
      config: e.config,
    })),
    runs: plan.runs.map((r) => ({
      id: r.id,
      role: r.role,
      label: r.label,
      dir: rel(plannedRunDir(r, runsDir)),
      points: r.points,
      ...(r.experiment ? { experiment: r.experiment, arm: r.arm } : {}),
      ...(r.dependsOn ? { dependsOn: r.dependsOn } : {}),
      ...(r.sameAs ? { sameAs: r.sameAs } : {}),
      ...(r.config ? { config: r.config } : {}),
    })),
    files: { results: 'sweep-results.jsonl', csv: 'sweep-results.csv', logs: 'logs' },
  };
}

/**
 * Writes an experiment's `ticket.json` (its resolved config and identity, and the shared dense run
 * relative to it) unless it is already there; an experiment folder holding another experiment is refused.
 */
export function ensureExperimentRecord(plan: SweepPlan, identity: string, runsDir: string): void {
  const exp = plan.experiments.find((e) => e.identity === identity)!;
  const dir = path.join(runsDir, exp.folder);
  const folderOf = (id: string) =>
    path.relative(
      dir,
      plannedRunDir(
        plan.runs.find((r) => r.id === id)!,
        runsDir,
      ),
    );
  const denseRun = folderOf(exp.denseRun);
  // The mask-free dense arm is a shared plain run outside the experiment folder; recording it lets a
  // report of the experiment folder alone find it (it is the dense run itself when the settings agree).
  const denseArm = exp.denseArm !== undefined ? folderOf(exp.denseArm) : undefined;
  const store = new RunStore(dir);
  const lock = store.lock('grokking-tickets sweep (experiment record)');
  try {
    if (fs.existsSync(store.file('ticket.json'))) {
      const existing = readTicketRecord(dir);
      if (existing.identity !== identity)
        throw new RunFolderError(`${dir} holds experiment ${existing.identity}, not ${identity}`);
      if (existing.denseRun === denseRun && existing.denseArm === denseArm) return;
    }
    store.writeJson('ticket.json', {
      config: { ...exp.config, denseDir: null },
      identity,
      denseRun,
      ...(denseArm !== undefined ? { denseArm } : {}),
    } satisfies TicketRecord);
  } finally {
    lock.release();
  }
}
