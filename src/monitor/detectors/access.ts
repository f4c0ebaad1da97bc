// Unusual access by a known principal: from a network prefix it has never used (after it has
// established its usual networks), and outside its usual hours (hours of the day that hold almost
// none of its history), reported when several requests arrive in such an hour.
import { z } from 'zod';
import { networkPrefix } from '../../detect/sliding.js';
import type { RampartEvent } from '../../events/schema.js';
import type { Detection, Detector } from './types.js';

export const newNetworkSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Prefix length for IPv4 addresses. */
    ipv4Prefix: z.number().int().min(8).max(32).default(24),
    /** Prefix length for IPv6 addresses. */
    ipv6Prefix: z.number().int().min(16).max(128).default(48),
    /** A principal learns its networks for this long (ms) after its first request... */
    learnMs: z.number().int().nonnegative().default(86_400_000),
    /** ...and for at least this many requests. */
    learnRequests: z.number().int().nonnegative().default(50),
    /** Most prefixes remembered per principal. */
    maxPrefixes: z.number().int().positive().default(256),
  })
  .strict();

export const offHoursSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** History needed (ms since first request) before judging hours. */
    learnMs: z.number().int().nonnegative().default(2 * 86_400_000),
    /** And at least this many requests. */
    learnRequests: z.number().int().nonnegative().default(300),
    /** An hour of the day holding less than this share of the principal's requests is off-hours. */
    maxShare: z.number().min(0).max(1).default(0.003),
    /** Requests in one off-hours clock hour that make an alert. */
    minRequests: z.number().int().positive().default(10),
    /** UTC offset (minutes) of the local time of the hours. */
    utcOffsetMinutes: z.number().int().default(0),
  })
  .strict();

type NewNetworkParams = z.output<typeof newNetworkSchema>;
type OffHoursParams = z.output<typeof offHoursSchema>;

export class NewNetworkDetector implements Detector {
  readonly id = 'new-network';
  private readonly keys = new Map<string, { first: number; n: number; prefixes: Set<string> }>();
  constructor(private readonly p: NewNetworkParams) {}

  observe(e: RampartEvent): Detection[] {
    if (e.type !== 'gateway.request' || !e.principal || !e.sourceIp) return [];
    let s = this.keys.get(e.principal);
    if (!s) this.keys.set(e.principal, (s = { first: e.time, n: 0, prefixes: new Set() }));
    s.n++;
    const prefix = networkPrefix(e.sourceIp, this.p.ipv4Prefix, this.p.ipv6Prefix);
    if (s.prefixes.has(prefix)) return [];
    const learning = e.time - s.first < this.p.learnMs || s.n <= this.p.learnRequests;
    if (s.prefixes.size < this.p.maxPrefixes) s.prefixes.add(prefix);
    if (learning) return [];
    return [
      {
        detector: this.id,
        dedupKey: `${this.id}:${e.principal}:${prefix}`,
        severity: 'medium',
        title: `${e.principal} used a network it never used before: ${prefix}`,
        time: e.time,
        subject: { principal: e.principal, prefix },
        details: { sourceIp: e.sourceIp, prefix, knownPrefixes: s.prefixes.size - 1 },
      },
    ];
  }

  tick(): Detection[] {
    return [];
  }
}

export class OffHoursDetector implements Detector {
  readonly id = 'off-hours';
  private readonly keys = new Map<string, { first: number; n: number; hours: number[]; bucket: number; inBucket: number; fired: boolean }>();
  constructor(private readonly p: OffHoursParams) {}

  observe(e: RampartEvent): Detection[] {
    if (e.type !== 'gateway.request' || !e.principal) return [];
    let s = this.keys.get(e.principal);
    if (!s) this.keys.set(e.principal, (s = { first: e.time, n: 0, hours: new Array<number>(24).fill(0), bucket: -1, inBucket: 0, fired: false }));
    const local = e.time + this.p.utcOffsetMinutes * 60_000;
    const hour = new Date(local).getUTCHours();
    const bucket = Math.floor(local / 3_600_000);
    if (bucket !== s.bucket) {
      // The past hour joins the history only now, and only if it did not alert: counting its
      // requests at once would let a sustained intrusion teach the baseline while it happens.
      if (s.bucket >= 0 && !s.fired) {
        s.hours[new Date(s.bucket * 3_600_000).getUTCHours()]! += s.inBucket;
        s.n += s.inBucket;
      }
      s.bucket = bucket;
      s.inBucket = 0;
      s.fired = false;
    }
    s.inBucket++;
    const out: Detection[] = [];
    const learned = e.time - s.first >= this.p.learnMs && s.n >= this.p.learnRequests;
    const share = s.n ? s.hours[hour]! / s.n : 0;
    if (learned && !s.fired && share < this.p.maxShare && s.inBucket >= this.p.minRequests) {
      s.fired = true;
      out.push({
        detector: this.id,
        dedupKey: `${this.id}:${e.principal}:${bucket}`,
        severity: 'medium',
        title: `${e.principal} is active outside its usual hours (${String(hour).padStart(2, '0')}:00, ${(share * 100).toFixed(2)}% of its history)`,
        time: e.time,
        subject: { principal: e.principal },
        details: { hour, share, requestsThisHour: s.inBucket },
      });
    }
    return out;
  }

  tick(): Detection[] {
    return [];
  }
}
