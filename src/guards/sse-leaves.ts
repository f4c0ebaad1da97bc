// Where text released at a channel's end goes when the channel is a string leaf of an object- or
// array-valued delta (an unknown chat delta field, a `response.*.delta` whose `delta` is not a
// string). The release keeps the shape the client saw: a skeleton of the delta that last wrote to
// the channel, its text blanked, with the released text at the leaf.
import { isNonText, MAX_TEXT_DEPTH, type Seg } from './text-leaves.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A deep copy of `v` with every text string emptied (ids, type tags and numbers kept, log-probabilities
 * left out, nothing deeper than MAX_TEXT_DEPTH: the value was walked to that depth before).
 */
export function blank(v: unknown, key?: string | number, holder?: Obj | unknown[], holderKey?: string | number, depth = 0): unknown {
  if (typeof v === 'string') return holder !== undefined && key !== undefined && isNonText(holder, key, holderKey) ? v : '';
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= MAX_TEXT_DEPTH) return null;
  if (Array.isArray(v)) return v.map((x, i) => blank(x, i, v, key, depth + 1));
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (k !== 'logprobs') out[k] = blank(x, k, v as Obj, key, depth + 1);
  return out;
}

/** The element of `list` a path segment names (by position, or by its `index` field). */
function at(list: unknown[], seg: number | { index: number }): number {
  return typeof seg === 'number' ? seg : list.findIndex((e) => isObj(e) && e.index === seg.index);
}

/**
 * Appends `text` at `path` inside `target`, creating what is missing from `skel` (the blanked value
 * that was at `path[0]` when the channel last received text). False when `target` has a value of
 * another shape on the way (the caller then sends the text in an event of its own).
 */
export function placeLeaf(target: Obj, path: readonly Seg[], skel: unknown, text: string): boolean {
  let node: Obj | unknown[] = target;
  let sk: unknown = { [String(path[0])]: skel };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    let key: string | number;
    let skChild: unknown;
    if (typeof seg === 'string') {
      if (!isObj(node)) return false;
      key = seg;
      skChild = isObj(sk) ? sk[seg] : undefined;
    } else {
      if (!Array.isArray(node)) return false;
      const list: unknown[] = node;
      const skList = Array.isArray(sk) ? sk : [];
      const sj = at(skList, seg);
      skChild = sj >= 0 ? skList[sj] : undefined;
      let j = at(list, seg);
      if (j < 0) {
        // Named by an `index` field and not in this event yet: appended.
        list.push(skChild !== undefined ? blank(skChild) : { index: (seg as { index: number }).index });
        j = list.length - 1;
      }
      while (list.length <= j) list.push(list.length < skList.length ? blank(skList[list.length]) : null);
      key = j;
    }
    const holder = node as Record<string | number, unknown>;
    const cur = holder[key];
    if (i === path.length - 1) {
      if (cur !== undefined && cur !== null && typeof cur !== 'string') return false;
      holder[key] = (typeof cur === 'string' ? cur : '') + text;
      return true;
    }
    if (cur === undefined || cur === null) holder[key] = skChild !== undefined && typeof skChild === 'object' && skChild !== null ? blank(skChild) : typeof path[i + 1] === 'string' ? {} : [];
    const next = holder[key];
    if (typeof next !== 'object' || next === null) return false;
    node = next as Obj | unknown[];
    sk = skChild;
  }
  return false;
}
