// The process-wide table of registries that plug-ins fill, by the key a plug-in uses (`arms`,
// `models`, ...). Kept on globalThis so that two copies of this package in one process (a plug-in
// with its own nested install) still share one table.

/** How plug-in entries reach one registry. */
export interface Slot {
  plural: string;
  /** The registry takes a whole default export as one entry (pruner packages). */
  single: boolean;
  accepts(value: unknown): boolean;
  /** Registers a value; returns its name. */
  add(value: unknown): string;
}

interface SlotTable {
  slots: Map<string, Slot>;
  /** Plug-in entries for a key no registry of this process has claimed yet. */
  pending: Map<string, unknown[]>;
}

const KEY = Symbol.for('@grokking-tickets/registry:slots');

function table(): SlotTable {
  const g = globalThis as unknown as Record<symbol, SlotTable | undefined>;
  return (g[KEY] ??= { slots: new Map(), pending: new Map() });
}

export function registerSlot(slot: Slot): void {
  table().slots.set(slot.plural, slot);
}

export function slotFor(plural: string): Slot | undefined {
  return table().slots.get(plural);
}

export function allSlots(): Slot[] {
  return [...table().slots.values()];
}

export function addPending(plural: string, entries: unknown[]): void {
  const t = table();
  t.pending.set(plural, [...(t.pending.get(plural) ?? []), ...entries]);
}

export function claimPending(plural: string): unknown[] {
  const t = table();
  const entries = t.pending.get(plural) ?? [];
  t.pending.delete(plural);
  return entries;
}

export function pendingKeys(): string[] {
  return [...table().pending.keys()];
}
