// The in-process event bus. Publishing never blocks and never throws: events go into a bounded
// queue that a background loop drains to the subscribers; when the queue is full the event is
// dropped and counted (a metric), because the request path must never wait for the monitor.
import type { Logger } from '../core/logger.js';
import type { RampartEvent } from './schema.js';

/** A consumer of events. Called with batches, in publish order; one call at a time per subscriber. */
export type EventHandler = (events: readonly RampartEvent[]) => void | Promise<void>;

export interface EventBusOptions {
  /** Largest number of events waiting for subscribers; beyond it new events are dropped. Default 10 000. */
  capacity?: number;
  /** Largest batch handed to a subscriber at once. Default 256. */
  maxBatch?: number;
  logger?: Logger;
  /** Called with the number of events dropped each time events are dropped (metrics). */
  onDrop?: (n: number) => void;
}

export interface EventBusStats {
  published: number;
  delivered: number;
  dropped: number;
  queued: number;
  handlerErrors: number;
}

interface Sub {
  name: string;
  handler: EventHandler;
}

export class EventBus {
  private readonly capacity: number;
  private readonly maxBatch: number;
  private queue: RampartEvent[] = [];
  private head = 0;
  private readonly subs: Sub[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private readonly stats: EventBusStats = { published: 0, delivered: 0, dropped: 0, queued: 0, handlerErrors: 0 };

  constructor(private readonly opts: EventBusOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 10_000);
    this.maxBatch = Math.max(1, opts.maxBatch ?? 256);
  }

  /** Adds a subscriber; returns a function that removes it. */
  subscribe(name: string, handler: EventHandler): () => void {
    const sub = { name, handler };
    this.subs.push(sub);
    return () => {
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
    };
  }

  /** Queues events for the subscribers. Never blocks, never throws; returns how many were accepted. */
  publish(...events: RampartEvent[]): number {
    if (this.closed) {
      this.drop(events.length);
      return 0;
    }
    const room = this.capacity - (this.queue.length - this.head);
    const take = Math.min(room, events.length);
    for (let i = 0; i < take; i++) this.queue.push(events[i]!);
    this.stats.published += take;
    if (take < events.length) this.drop(events.length - take);
    if (take > 0) this.schedule();
    return take;
  }

  getStats(): EventBusStats {
    return { ...this.stats, queued: this.queue.length - this.head };
  }

  /** Resolves when every event published so far has been handed to every subscriber. */
  async flush(): Promise<void> {
    while (this.draining || this.queue.length > this.head) {
      this.schedule();
      await this.draining;
    }
  }

  /** Delivers what is queued, then refuses (and counts as dropped) anything published later. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private drop(n: number): void {
    if (n <= 0) return;
    this.stats.dropped += n;
    this.opts.onDrop?.(n);
  }

  private schedule(): void {
    if (this.draining) return;
    // setImmediate: the publisher's own work finishes before any subscriber runs.
    this.draining = new Promise<void>((resolve) => setImmediate(() => void this.drain().finally(resolve)));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > this.head) {
        const end = Math.min(this.queue.length, this.head + this.maxBatch);
        const batch = this.queue.slice(this.head, end);
        this.head = end;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        for (const s of [...this.subs]) {
          try {
            await s.handler(batch);
          } catch (e) {
            this.stats.handlerErrors++;
            this.opts.logger?.error({ err: e, subscriber: s.name }, 'events: subscriber failed');
          }
        }
        this.stats.delivered += batch.length;
      }
    } finally {
      this.draining = null;
    }
  }
}
