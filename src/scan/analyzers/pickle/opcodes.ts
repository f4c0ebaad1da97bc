// The pickle opcodes of protocols 0 to 5 and the shape of their inline arguments, as documented in
// CPython's Lib/pickletools.py (opcode table) and Lib/pickle.py (the Unpickler's dispatch table).

/** How an opcode's argument is encoded right after the opcode byte. */
export type ArgKind =
  | 'none'
  | 'u1' // uint1
  | 'u2' // uint2, little endian
  | 'i4' // int4, little endian, signed
  | 'u4' // uint4
  | 'u8' // uint8 (FRAME length)
  | 'f8' // float8, big endian
  | 'line' // one line ending in \n (decimal ints, floats, PUT/GET indices, PERSID)
  | 'line2' // two lines (GLOBAL / INST: module and name)
  | 'string' // quoted repr line (STRING)
  | 'unicodeline' // raw-unicode-escape line (UNICODE)
  | 'bytes1' // uint1 length + data
  | 'bytes4' // uint4 length + data (BINBYTES, BINUNICODE)
  | 'bytes4s' // int4 (signed) length + data (BINSTRING: negative lengths are errors)
  | 'bytes8' // uint8 length + data
  | 'long1' // uint1 length + little-endian two's complement integer
  | 'long4'; // int4 length + integer

export interface OpInfo {
  name: string;
  arg: ArgKind;
  proto: number;
}

const table: [string, string, ArgKind, number][] = [
  ['(', 'MARK', 'none', 0],
  ['.', 'STOP', 'none', 0],
  ['0', 'POP', 'none', 0],
  ['1', 'POP_MARK', 'none', 1],
  ['2', 'DUP', 'none', 0],
  ['F', 'FLOAT', 'line', 0],
  ['I', 'INT', 'line', 0],
  ['J', 'BININT', 'i4', 1],
  ['K', 'BININT1', 'u1', 1],
  ['L', 'LONG', 'line', 0],
  ['M', 'BININT2', 'u2', 1],
  ['N', 'NONE', 'none', 0],
  ['P', 'PERSID', 'line', 0],
  ['Q', 'BINPERSID', 'none', 1],
  ['R', 'REDUCE', 'none', 0],
  ['S', 'STRING', 'string', 0],
  ['T', 'BINSTRING', 'bytes4s', 1],
  ['U', 'SHORT_BINSTRING', 'bytes1', 1],
  ['V', 'UNICODE', 'unicodeline', 0],
  ['X', 'BINUNICODE', 'bytes4', 1],
  ['a', 'APPEND', 'none', 0],
  ['b', 'BUILD', 'none', 0],
  ['c', 'GLOBAL', 'line2', 0],
  ['d', 'DICT', 'none', 0],
  ['}', 'EMPTY_DICT', 'none', 1],
  ['e', 'APPENDS', 'none', 1],
  ['g', 'GET', 'line', 0],
  ['h', 'BINGET', 'u1', 1],
  ['i', 'INST', 'line2', 0],
  ['j', 'LONG_BINGET', 'u4', 1],
  ['l', 'LIST', 'none', 0],
  [']', 'EMPTY_LIST', 'none', 1],
  ['o', 'OBJ', 'none', 1],
  ['p', 'PUT', 'line', 0],
  ['q', 'BINPUT', 'u1', 1],
  ['r', 'LONG_BINPUT', 'u4', 1],
  ['s', 'SETITEM', 'none', 0],
  ['t', 'TUPLE', 'none', 0],
  [')', 'EMPTY_TUPLE', 'none', 1],
  ['u', 'SETITEMS', 'none', 1],
  ['G', 'BINFLOAT', 'f8', 1],
  ['\x80', 'PROTO', 'u1', 2],
  ['\x81', 'NEWOBJ', 'none', 2],
  ['\x82', 'EXT1', 'u1', 2],
  ['\x83', 'EXT2', 'u2', 2],
  ['\x84', 'EXT4', 'i4', 2],
  ['\x85', 'TUPLE1', 'none', 2],
  ['\x86', 'TUPLE2', 'none', 2],
  ['\x87', 'TUPLE3', 'none', 2],
  ['\x88', 'NEWTRUE', 'none', 2],
  ['\x89', 'NEWFALSE', 'none', 2],
  ['\x8a', 'LONG1', 'long1', 2],
  ['\x8b', 'LONG4', 'long4', 2],
  ['B', 'BINBYTES', 'bytes4', 3],
  ['C', 'SHORT_BINBYTES', 'bytes1', 3],
  ['\x8c', 'SHORT_BINUNICODE', 'bytes1', 4],
  ['\x8d', 'BINUNICODE8', 'bytes8', 4],
  ['\x8e', 'BINBYTES8', 'bytes8', 4],
  ['\x8f', 'EMPTY_SET', 'none', 4],
  ['\x90', 'ADDITEMS', 'none', 4],
  ['\x91', 'FROZENSET', 'none', 4],
  ['\x92', 'NEWOBJ_EX', 'none', 4],
  ['\x93', 'STACK_GLOBAL', 'none', 4],
  ['\x94', 'MEMOIZE', 'none', 4],
  ['\x95', 'FRAME', 'u8', 4],
  ['\x96', 'BYTEARRAY8', 'bytes8', 5],
  ['\x97', 'NEXT_BUFFER', 'none', 5],
  ['\x98', 'READONLY_BUFFER', 'none', 5],
];

/** Opcode byte -> info; undefined for bytes that are not opcodes. */
export const OPCODES: (OpInfo | undefined)[] = new Array(256).fill(undefined);
for (const [ch, name, arg, proto] of table) OPCODES[ch.charCodeAt(0)] = { name, arg, proto };

export const HIGHEST_PROTOCOL = 5;
