// Per-principal state of the extraction guard, kept in the store's guard-state table so it survives
// a restart and is shared by replicas, with an in-process cache so a request costs no store write.
//
// Detector state (PRADA growing sets and distances, visited coverage cells) is write-behind: a
// request updates the cached copy and records what it observed; every `flushMs` the dirty entries
// are written with compare-and-set. When another replica wrote the same principal meanwhile, the
// stored state is read back and this replica's observations since its last write are replayed on
// it (the detector then holds every replica's queries, in a slightly different order), then
// written again. Bounds: a crash loses at most one flush interval of observations; replicas see
// each other's queries after at most one flush interval of the other replica.
//
// Penalties (a principal throttled or blocked after a detection) are write-through: written
// before the verdict is returned, and re-read from the store at most every `penaltyRecheckMs`, so
// a penalty set by one replica reaches the others within that time.
import type { Logger } from '../../core/logger.js';
import { coverageVisit } from '../../detect/extraction/coverage.js';
import { decodePradaState, encodePradaState, newPradaState, pradaObserve, type PradaOptions, type PradaState } from '../../detect/extraction/prada.js';
import type { GuardStateStore } from '../../store/types.js';

export interface PrincipalState {
  prada: PradaState;
  /** Distinct coverage cells visited. */
  cells: number[];
}

/** What one request observed, kept until written (replayed on a conflicting write). */
export type Observation = { kind: 'query'; x: number[]; cls: number } | { kind: 'cell'; cell: number } | { kind: 'reset' };

export interface Penalty {
  until: number;
  /** Reason code that caused it, e.g. `extraction.prada`. */
  reason: string;
}

interface Entry {
  key: string;
  state: PrincipalState;
  version: number;
  pending: Observation[];
  lastUsed: number;
}

export interface StateOptions {
  ttlMs: number;
  flushMs: number;
  penaltyRecheckMs: number;
  prada: PradaOptions;
  maxCells: number;
  /** Largest number of principals cached in memory. */
  maxEntries: number;
}

const MAX_PENDING = 20_000;
const IDLE_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;

export function encodeState(s: PrincipalState): string {
  return JSON.stringify({ v: 1, p: encodePradaState(s.prada), c: s.cells });
}

export function decodeState(text: string): PrincipalState | null {
  try {
    const raw = JSON.parse(text) as { v: number; p: string; c: number[] };
    if (raw.v !== 1 || !Array.isArray(raw.c) || !raw.c.every((c) => Number.isInteger(c))) return null;
    const prada = decodePradaState(raw.p);
    return prada ? { prada, cells: raw.c } : null;
  } catch {
    return null;
  }
}

export function newState(): PrincipalState {
  return { prada: newPradaState(), cells: [] };
}

export class ExtractionStateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly penalties = new Map<string, { penalty: Penalty | null; checkedAt: number }>();
  private readonly timer: NodeJS.Timeout | null;
  private flushing: Promise<void> | null = null;
  private prunedAt = Date.now();

  constructor(
    private readonly store: GuardStateStore | undefined,
    private readonly opts: StateOptions,
    private readonly logger: Logger,
    private readonly rand: () => number = Math.random,
  ) {
    this.timer = store ? setInterval(() => void this.flush(), opts.flushMs) : null;
    this.timer?.unref();
  }

  /** The cached state of `key`, loaded from the store on first use. */
  async get(key: string, now: number): Promise<Entry> {
    const hit = this.entries.get(key);
    if (hit) {
      hit.lastUsed = Math.max(hit.lastUsed, now);
      return hit;
    }
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(key, now).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async load(key: string, now: number): Promise<Entry> {
    let state = newState();
    let version = 0;
    if (this.store) {
      const stored = await this.store.getState(key, now);
      if (stored) {
        const decoded = decodeState(stored.value);
        if (decoded) state = decoded;
        else this.logger.warn({ key: redactKey(key) }, 'extraction guard: stored state unreadable, starting afresh');
        version = stored.version;
      }
    }
    const entry: Entry = { key, state, version, pending: [], lastUsed: now };
    this.entries.set(key, entry);
    this.evictIfFull();
    return entry;
  }

  /** Applies an observation to the cached state and queues it for the next write. */
  observe(entry: Entry, obs: Observation): ReturnType<typeof pradaObserve> | number {
    const r = apply(entry.state, obs, this.opts, this.rand);
    if (this.store && entry.pending.length < MAX_PENDING) entry.pending.push(obs);
    return r;
  }

  /** Forgets the distance window and the visited cells after a detection (written with the next flush). */
  reset(entry: Entry): void {
    this.observe(entry, { kind: 'reset' });
  }

  /** Writes dirty entries; conflicts are merged by replay. Failures are logged and retried next time. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const store = this.store;
    if (!store) return;
    const now = Date.now();
    for (const entry of [...this.entries.values()]) {
      if (entry.pending.length === 0) {
        if (now - entry.lastUsed > IDLE_MS) this.entries.delete(entry.key);
        continue;
      }
      const batch = entry.pending;
      entry.pending = [];
      try {
        // Request times come from the request (a replica's clock may run ahead of this one's).
        await this.write(store, entry, batch, Math.max(now, entry.lastUsed));
      } catch (e) {
        entry.pending = [...batch, ...entry.pending].slice(-MAX_PENDING);
        this.logger.warn({ err: { code: (e as { code?: string }).code, message: (e as Error).message }, key: redactKey(entry.key) }, 'extraction guard: could not write state');
      }
    }
    // Expired penalties and states (Redis drops its own; SQL tables need a delete), every 10 minutes.
    if (now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      await store.pruneState(now).catch(() => 0);
    }
  }

  private async write(store: GuardStateStore, entry: Entry, batch: Observation[], now: number): Promise<void> {
    let state = entry.state;
    let expected = entry.version;
    for (let attempt = 0; attempt < 4; attempt++) {
      const v = await store.casState(entry.key, expected, encodeState(state), now + this.opts.ttlMs, now);
      if (v !== null) {
        entry.version = v;
        entry.state = state;
        return;
      }
      // Another replica wrote it: start from its state and replay what this one saw since.
      const stored = await store.getState(entry.key, now);
      const base = (stored && decodeState(stored.value)) || newState();
      for (const obs of [...batch, ...entry.pending]) apply(base, obs, this.opts, this.rand);
      state = base;
      expected = stored?.version ?? 0;
    }
    throw new Error('gave up after repeated write conflicts');
  }

  private evictIfFull(): void {
    if (this.entries.size <= this.opts.maxEntries) return;
    // Drop the least recently used entry without unwritten observations.
    let victim: Entry | null = null;
    for (const e of this.entries.values()) if (e.pending.length === 0 && (!victim || e.lastUsed < victim.lastUsed)) victim = e;
    if (victim) this.entries.delete(victim.key);
  }

  /** The principal's active penalty at `now`, if any (re-read from the store at most every penaltyRecheckMs). */
  async penalty(key: string, now: number): Promise<Penalty | null> {
    const pk = `${key}/penalty`;
    const cached = this.penalties.get(pk);
    if (cached && (now - cached.checkedAt < this.opts.penaltyRecheckMs || !this.store)) {
      return cached.penalty && cached.penalty.until > now ? cached.penalty : null;
    }
    let penalty: Penalty | null = null;
    if (this.store) {
      const stored = await this.store.getState(pk, now);
      if (stored) penalty = parsePenalty(stored.value);
    }
    this.penalties.set(pk, { penalty, checkedAt: now });
    if (this.penalties.size > this.opts.maxEntries) this.penalties.delete(this.penalties.keys().next().value!);
    return penalty && penalty.until > now ? penalty : null;
  }

  /** Records a penalty (write-through: in the store before the caller answers). */
  async setPenalty(key: string, penalty: Penalty, now: number): Promise<void> {
    const pk = `${key}/penalty`;
    this.penalties.set(pk, { penalty, checkedAt: now });
    if (!this.store) return;
    const value = JSON.stringify(penalty);
    for (let attempt = 0; attempt < 4; attempt++) {
      const cur = await this.store.getState(pk, now);
      if (cur && parsePenalty(cur.value)!.until >= penalty.until) return;
      if ((await this.store.casState(pk, cur?.version ?? 0, value, penalty.until, now)) !== null) return;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    await this.flush();
  }
}

function apply(state: PrincipalState, obs: Observation, opts: StateOptions, rand: () => number): ReturnType<typeof pradaObserve> | number {
  if (obs.kind === 'query') return pradaObserve(state.prada, obs.x, obs.cls, opts.prada, rand);
  if (obs.kind === 'reset') {
    state.prada.distances = [];
    state.cells = [];
    return 0;
  }
  return coverageVisit(state, obs.cell, opts.maxCells + 1);
}

/** A stored penalty; an unreadable one counts as a penalty that has ended (until 0). */
function parsePenalty(text: string): Penalty | null {
  try {
    const p = JSON.parse(text) as Penalty;
    if (typeof p.until === 'number' && typeof p.reason === 'string') return p;
  } catch {
    // fall through
  }
  return { until: 0, reason: 'unreadable' };
}

/** Keys hold principal ids: logs carry only a short hash of them. */
function redactKey(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return `#${(h >>> 0).toString(16)}`;
}
