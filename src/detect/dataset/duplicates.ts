// Exact duplicates: rows whose feature vectors are equal (NaN equal to NaN), found by a 64-bit hash
// of the float bits into buckets and confirmed by comparing the values, O(n·d). Groups whose rows
// carry different labels are conflicting duplicates (one of them is mislabelled, or a poison copies
// a clean row under another label). Near duplicates come from the k-NN graph (see knn.ts).

export interface DuplicateGroup {
  rows: number[];
  /** Distinct labels in the group (only when labels are given). */
  labels?: string[];
}

/**
 * The two 32-bit lanes of each row's feature hash (-0 equals 0, NaNs equal), written at `at`.
 * exactDuplicates keys on 53 bits of them and confirms by value; a chunked scan, which cannot
 * compare with rows it no longer holds, groups on all 64.
 */
export function hashRows(X: Float64Array, n: number, d: number, h1Out: Uint32Array, h2Out: Uint32Array, at = 0): void {
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  for (let i = 0; i < n; i++) {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j]!;
      f64[0] = v === 0 ? 0 : Number.isNaN(v) ? NaN : v; // -0 == 0, one NaN
      h1 = Math.imul(h1 ^ u32[0]!, 0x85ebca6b);
      h1 = Math.imul(h1 ^ u32[1]!, 0xc2b2ae35);
      h1 ^= h1 >>> 15;
      h2 = Math.imul(h2 ^ u32[1]!, 0x27d4eb2f);
      h2 = Math.imul(h2 ^ u32[0]!, 0x165667b1);
      h2 ^= h2 >>> 13;
    }
    h1Out[at + i] = h1 >>> 0;
    h2Out[at + i] = h2 >>> 0;
  }
}

export function exactDuplicates(X: Float64Array, n: number, d: number, labels?: readonly string[]): DuplicateGroup[] {
  const buckets = new Map<number, number[]>();
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  hashRows(X, n, d, h1, h2);
  for (let i = 0; i < n; i++) {
    // 53 bits of the two lanes as one exact double key.
    const key = h1[i]! * 2097152 + (h2[i]! & 0x1fffff);
    const b = buckets.get(key);
    if (b) b.push(i);
    else buckets.set(key, [i]);
  }
  const same = (a: number, b: number) => {
    for (let j = 0; j < d; j++) {
      const x = X[a * d + j]!;
      const y = X[b * d + j]!;
      if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return false;
    }
    return true;
  };
  const groups: DuplicateGroup[] = [];
  for (const b of buckets.values()) {
    if (b.length < 2) continue;
    const left = [...b];
    while (left.length > 1) {
      const first = left[0]!;
      const g = [first];
      const rest: number[] = [];
      for (let t = 1; t < left.length; t++) (same(first, left[t]!) ? g : rest).push(left[t]!);
      if (g.length > 1) {
        const grp: DuplicateGroup = { rows: g };
        if (labels) grp.labels = [...new Set(g.map((r) => labels[r]!))].sort();
        groups.push(grp);
      }
      left.splice(0, left.length, ...rest);
    }
  }
  groups.sort((a, b) => a.rows[0]! - b.rows[0]!);
  return groups;
}
