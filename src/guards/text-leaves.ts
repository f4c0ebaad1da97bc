// The string leaves of a JSON value that a text guard must see: every non-empty string except the
// fields known not to be text (ids, type tags, enums, base64 audio and images, encrypted blobs) and
// token log-probabilities (removed whenever a text guard enforces). The stream guard (sse.ts) and
// the whole-answer text list (text.ts) take the fields they know from the request shape first and
// hand everything else to this walk, so a field or event type newer than the gateway is scanned
// rather than passed through.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deepest nesting walked (objects and arrays); a value nested deeper cannot be scanned. */
export const MAX_TEXT_DEPTH = 64;

/** Fields that identify, tag or count rather than carry text. */
const NON_TEXT_KEYS: ReadonlySet<string> = new Set([
  'type',
  'id',
  'object',
  'role',
  'status',
  'finish_reason',
  'model',
  'system_fingerprint',
  'service_tier',
  'obfuscation',
  'encrypted_content',
  'partial_image_b64',
  'b64_json',
]);

/**
 * Whether the string `holder[key]` is known not to be text: a key in the list above or ending in
 * `_id`, base64 audio (`audio.data`), an image generation call's base64 `result`. (An object or
 * array under such a key is walked like any other.)
 */
export function isNonText(holder: Obj | unknown[], key: string | number, holderKey?: string | number): boolean {
  if (typeof key !== 'string') return false;
  if (NON_TEXT_KEYS.has(key) || key.endsWith('_id')) return true;
  if (key === 'data' && holderKey === 'audio') return true;
  return key === 'result' && !Array.isArray(holder) && holder.type === 'image_generation_call';
}

/**
 * One step of a leaf's path. A string is an object key; in an array, an element that is an object
 * with a numeric `index` field is named by that index (as chat tool calls are), any other element
 * by its position.
 */
export type Seg = string | number | { index: number };

export interface TextLeaf {
  holder: Obj | unknown[];
  key: string | number;
  text: string;
  /** Path from the walk's root (after `rootPath`), elements named as in Seg. */
  path: Seg[];
  /** JSON pointer from the walk's root (after `rootPointer`), by position. */
  pointer: string;
}

const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** A path as a channel suffix: segments joined with `/`, keys escaped as in a JSON pointer. */
export function segPath(path: readonly Seg[]): string {
  return path.map((s) => (typeof s === 'string' ? esc(s) : typeof s === 'number' ? String(s) : String(s.index))).join('/');
}

/**
 * The text leaves under `root` (an object's or array's own strings before those nested in it);
 * null when the value nests deeper than
 * MAX_TEXT_DEPTH (the caller fails closed: such a value cannot be scanned). `skip(holder, key)`
 * leaves out a field and everything under it (fields the caller handled itself).
 */
export function textLeaves(
  root: Obj | unknown[],
  opts: { rootPath?: Seg[]; rootPointer?: string; rootKey?: string | number; skip?: (holder: Obj | unknown[], key: string | number) => boolean } = {},
): TextLeaf[] | null {
  const out: TextLeaf[] = [];
  interface Frame {
    node: Obj | unknown[];
    path: Seg[];
    pointer: string;
    depth: number;
    key: string | number | undefined;
  }
  // An explicit stack (no recursion): a hostile event cannot exhaust the call stack.
  const stack: Frame[] = [{ node: root, path: opts.rootPath ?? [], pointer: opts.rootPointer ?? '', depth: 0, key: opts.rootKey }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const entries: [string | number, unknown][] = Array.isArray(f.node) ? f.node.map((v, i) => [i, v]) : Object.entries(f.node);
    const children: Frame[] = [];
    for (const [k, v] of entries) {
      // Log-probabilities are removed whenever a text guard enforces (stripLogprobs), never scanned.
      if (k === 'logprobs' || opts.skip?.(f.node, k)) continue;
      const seg: Seg = typeof k === 'number' && isObj(v) && typeof v.index === 'number' ? { index: v.index } : k;
      const pointer = `${f.pointer}/${typeof k === 'number' ? String(k) : esc(k)}`;
      if (typeof v === 'string') {
        if (v !== '' && !isNonText(f.node, k, f.key)) out.push({ holder: f.node, key: k, text: v, path: [...f.path, seg], pointer });
      } else if (typeof v === 'object' && v !== null) {
        if (f.depth + 1 > MAX_TEXT_DEPTH) return null;
        children.push({ node: v as Obj | unknown[], path: [...f.path, seg], pointer, depth: f.depth + 1, key: k });
      }
    }
    // Children are visited in order; leaves of this node come first (only order within a node matters).
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}
