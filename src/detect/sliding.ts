// Sliding-window counters for burst detection: a ring of sub-buckets per key, so memory per key is
// constant and the count is exact to one sub-bucket width.

export class SlidingCounter {
  private readonly buckets: Float64Array;
  private readonly starts: Float64Array;
  private readonly width: number;

  /** `windowMs` split into `slots` buckets (default 12). */
  constructor(readonly windowMs: number, readonly slots = 12) {
    this.width = windowMs / slots;
    this.buckets = new Float64Array(slots);
    this.starts = new Float64Array(slots).fill(-Infinity);
  }

  /** Adds `amount` at `time` and returns the total over the window ending at `time`. */
  add(time: number, amount = 1): number {
    const start = Math.floor(time / this.width) * this.width;
    const i = Math.floor(time / this.width) % this.slots;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += amount;
    return this.total(time);
  }

  total(time: number): number {
    const oldest = time - this.windowMs;
    let s = 0;
    for (let i = 0; i < this.slots; i++) if (this.starts[i]! > oldest) s += this.buckets[i]!;
    return s;
  }

  /** True when nothing was counted in the window ending at `time` (state can be dropped). */
  idle(time: number): boolean {
    return this.total(time) === 0;
  }
}

/** The network prefix of an address: /24 for IPv4, /48 for IPv6 (configurable). */
export function networkPrefix(ip: string, v4Bits = 24, v6Bits = 48): string {
  const v4 = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(v4)) {
    const n = v4.split('.').reduce((a, o) => a * 256 + (Number(o) & 255), 0);
    const bits = Math.max(0, Math.min(32, v4Bits));
    const mask = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
    return `${[24, 16, 8, 0].map((s) => Math.floor(mask / 2 ** s) % 256).join('.')}/${bits}`;
  }
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
    const bits = Math.max(0, Math.min(128, v6Bits));
    const full = Math.floor(bits / 16);
    const out = groups.slice(0, full).map((g) => (parseInt(g, 16) || 0).toString(16));
    const rem = bits % 16;
    if (rem) out.push(((parseInt(groups[full] ?? '0', 16) || 0) & (0xffff << (16 - rem)) & 0xffff).toString(16));
    return `${out.join(':')}::/${bits}`;
  }
  return `${ip}/unknown`;
}
