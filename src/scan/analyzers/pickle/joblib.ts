// joblib's stream layout: numpy arrays are pickled as a NumpyArrayWrapper object, and right after
// its BUILD joblib's unpickler reads the array's raw bytes from the same stream (or, for object
// dtypes, a nested pickle). The bytes are located from the wrapper's dtype and shape, as joblib's
// numpy_pickle.NumpyArrayWrapper.read_array does.
import type { BuildEvent, MachineHooks, Value } from './machine.js';
import type { StreamReader } from './stream-reader.js';

export interface JoblibArray {
  off: number;
  len: number;
  objectDtype: boolean;
}

export interface JoblibState {
  arrays: JoblibArray[];
  issues: { off: number; reason: string }[];
  /** Runs a nested pickle (object arrays) on the same reader. */
  nested?: (reader: StreamReader) => Promise<void>;
}

function dictGet(d: Value, key: string): Value | undefined {
  if (d.t !== 'dict') return undefined;
  for (const [k, v] of d.entries) if (k.t === 'str' && k.v === key) return v;
  return undefined;
}

/** Itemsize and object-ness of a pickled numpy.dtype value, when it can be known. */
export function dtypeInfo(v: Value | undefined): { itemsize: number; object: boolean } | undefined {
  if (!v || v.t !== 'obj' || v.cls.t !== 'global' || !/^numpy\.(_core\.|core\.)?(multiarray\.)?dtype$/.test(v.cls.name)) return undefined;
  const a = v.args.t === 'tuple' ? v.args.items[0] : undefined;
  if (!a || a.t !== 'str') return undefined;
  const m = /^[<>|=]?([a-zA-Z])(\d+)$/.exec(a.v);
  if (!m) return undefined;
  if (m[1] === 'O') return { itemsize: Number(m[2]), object: true };
  if (m[1] === 'V') return undefined; // structured: fields may hold objects; not decided here
  return { itemsize: Number(m[2]), object: false };
}

export function joblibHooks(state: JoblibState): MachineHooks {
  return {
    async afterBuild(ev: BuildEvent, reader: StreamReader): Promise<void> {
      const t = ev.target;
      if (t.t !== 'obj' || t.cls.t !== 'global' || t.cls.name !== 'joblib.numpy_pickle.NumpyArrayWrapper') return;
      const dt = dtypeInfo(dictGet(ev.state, 'dtype'));
      const shape = dictGet(ev.state, 'shape');
      if (!dt || !shape || shape.t !== 'tuple' || shape.items.some((i) => i.t !== 'int' || i.v < 0)) {
        state.issues.push({ off: ev.off, reason: 'dtype or shape of the wrapped array cannot be determined' });
        return;
      }
      if (dt.object) {
        const start = reader.pos;
        if (state.nested) await state.nested(reader);
        state.arrays.push({ off: start, len: reader.pos - start, objectDtype: true });
        return;
      }
      let count = 1;
      for (const i of shape.items) count *= (i as { v: number }).v;
      const aligned = dictGet(ev.state, 'numpy_array_alignment_bytes') !== undefined;
      const start = reader.pos;
      if (aligned) {
        if (!reader.has(1) && !(await reader.fill(1))) {
          state.issues.push({ off: ev.off, reason: 'stream ends before the array padding' });
          return;
        }
        const pad = reader.u8();
        reader.skip(pad);
      }
      const len = count * dt.itemsize;
      if (!Number.isSafeInteger(len) || reader.pos + len > reader.end) {
        state.issues.push({ off: ev.off, reason: `array of ${count} x ${dt.itemsize} bytes extends past the end of the stream` });
        reader.pos = start;
        return;
      }
      reader.skip(len);
      state.arrays.push({ off: start, len: reader.pos - start, objectDtype: false });
    },
  };
}
