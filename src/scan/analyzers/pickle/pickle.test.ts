import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { scanBuffer } from '../../engine.js';
import { severityRank, type Finding, type Severity } from '../../../core/types.js';
import { callPickle, pb, stackGlobalCall, torchStateDictPickle } from '../../testing/pickle-builder.js';

function worst(findings: Finding[]): Severity {
  let w: Severity = 'info';
  for (const f of findings) if (severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}
async function scan(bytes: Uint8Array, name = 'model.pkl') {
  return scanBuffer(bytes, name);
}
const enc = new TextEncoder();
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Each sample: a technique from public scanner advisories / write-ups, or a variant of one.
const malicious: [string, () => Uint8Array, Severity][] = [
  ['protocol 0 GLOBAL os.system REDUCE', () => enc.encode("cos\nsystem\n(S'id'\ntR."), 'critical'],
  ['posix.system (the real module behind os on Linux)', () => callPickle('posix', 'system', 'id'), 'critical'],
  ['nt.system', () => callPickle('nt', 'system', 'dir'), 'critical'],
  ['subprocess.Popen', () => callPickle('subprocess', 'Popen', 'id'), 'critical'],
  ['subprocess.check_output via STACK_GLOBAL', () => stackGlobalCall('subprocess', 'check_output', 'id'), 'critical'],
  ['builtins.eval', () => callPickle('builtins', 'eval', "__import__('os').system('id')"), 'critical'],
  ['__builtin__.eval (Python 2 name)', () => callPickle('__builtin__', 'eval', '1'), 'critical'],
  ['builtins.exec', () => stackGlobalCall('builtins', 'exec', 'import os'), 'critical'],
  ['builtins.compile', () => callPickle('builtins', 'compile', 'x', 'y', 'exec'), 'critical'],
  ['builtins.open', () => callPickle('builtins', 'open', '/etc/passwd'), 'critical'],
  ['builtins.__import__', () => callPickle('builtins', '__import__', 'os'), 'critical'],
  ['builtins.getattr', () => callPickle('builtins', 'getattr', 'x', 'y'), 'critical'],
  ['pip.main (picklescan advisory)', () => callPickle('pip', 'main', 'install', 'evil'), 'critical'],
  ['pip._internal.cli.main.main', () => callPickle('pip._internal.cli.main', 'main'), 'critical'],
  ['pydoc.locate (picklescan advisory)', () => callPickle('pydoc', 'locate', 'os.system'), 'critical'],
  ['pkgutil.resolve_name (universal bypass advisory)', () => callPickle('pkgutil', 'resolve_name', 'os:system'), 'critical'],
  ['importlib.import_module', () => callPickle('importlib', 'import_module', 'os'), 'critical'],
  ['marshal.loads', () => callPickle('marshal', 'loads', 'x'), 'critical'],
  ['runpy._run_code', () => callPickle('runpy', '_run_code', 'x'), 'critical'],
  ['operator.attrgetter', () => callPickle('operator', 'attrgetter', 'system'), 'critical'],
  ['_operator.methodcaller', () => callPickle('_operator', 'methodcaller', 'system', 'id'), 'critical'],
  ['functools.partial', () => callPickle('functools', 'partial', 'x'), 'critical'],
  ['code.InteractiveInterpreter', () => callPickle('code', 'InteractiveInterpreter'), 'critical'],
  ['cProfile.run', () => callPickle('cProfile', 'run', 'import os'), 'critical'],
  ['profile.run', () => callPickle('profile', 'run', 'import os'), 'critical'],
  ['timeit.timeit', () => callPickle('timeit', 'timeit', 'import os'), 'critical'],
  ['asyncio.subprocess.create_subprocess_shell', () => callPickle('asyncio.subprocess', 'create_subprocess_shell', 'id'), 'critical'],
  ['asyncio.unix_events._UnixSubprocessTransport._start', () => stackGlobalCall('asyncio.unix_events', '_UnixSubprocessTransport._start', 'id'), 'critical'],
  ['numpy.testing._private.utils.runstring', () => callPickle('numpy.testing._private.utils', 'runstring', 'import os', '{}'), 'critical'],
  ['numpy.f2py.crackfortran.myeval', () => callPickle('numpy.f2py.crackfortran', 'myeval', '1'), 'critical'],
  ['torch.utils.bottleneck.__main__.run_cprofile', () => callPickle('torch.utils.bottleneck.__main__', 'run_cprofile', 'x'), 'critical'],
  ['torch._dynamo.guards.GuardBuilder.get', () => stackGlobalCall('torch._dynamo.guards', 'GuardBuilder.get', 'x'), 'critical'],
  ['torch.load nested', () => callPickle('torch', 'load', 'x.pt'), 'critical'],
  ['imaplib.IMAP4_stream', () => callPickle('imaplib', 'IMAP4_stream', 'id'), 'critical'],
  ['mailcap.findmatch', () => callPickle('mailcap', 'findmatch', 'x'), 'critical'],
  ['_posixsubprocess.fork_exec', () => callPickle('_posixsubprocess', 'fork_exec'), 'critical'],
  ['ctypes.CDLL', () => callPickle('ctypes', 'CDLL', 'libc.so.6'), 'critical'],
  ['webbrowser.open', () => callPickle('webbrowser', 'open', 'http://x'), 'critical'],
  ['shutil.rmtree', () => callPickle('shutil', 'rmtree', '/'), 'critical'],
  ['socket.create_connection', () => callPickle('socket', 'create_connection', 'x'), 'critical'],
  ['urllib.request.urlopen', () => callPickle('urllib.request', 'urlopen', 'http://x'), 'critical'],
  ['pty.spawn', () => callPickle('pty', 'spawn', '/bin/sh'), 'critical'],
  ['multiprocessing.Process', () => callPickle('multiprocessing', 'Process'), 'critical'],
  ['dill.loads', () => callPickle('dill', 'loads', 'x'), 'critical'],
  ['types.FunctionType', () => callPickle('types', 'FunctionType', 'x'), 'critical'],
  ['sys.modules walk', () => stackGlobalCall('sys', 'modules'), 'critical'],
  ['venv.create', () => callPickle('venv', 'create', '/tmp/x'), 'critical'],
  ['idlelib.pyshell', () => callPickle('idlelib.pyshell', 'ModifiedInterpreter'), 'critical'],
  ['lib2to3.pgen2.pgen.ParserGenerator.make_label', () => stackGlobalCall('lib2to3.pgen2.pgen', 'ParserGenerator.make_label'), 'critical'],
  ['test.support.script_helper.assert_python_ok', () => callPickle('test.support.script_helper', 'assert_python_ok', '-c', 'x'), 'critical'],
  ['ensurepip._run_pip', () => callPickle('ensurepip', '_run_pip', 'x'), 'critical'],
  ['pandas.read_pickle', () => callPickle('pandas', 'read_pickle', 'x'), 'critical'],
  ['dotted name: glob + os.system', () => stackGlobalCall('glob', 'os.system', 'id'), 'critical'],
  ['dotted name: torch + serialization.os.system', () => stackGlobalCall('torch', 'serialization.os.system', 'id'), 'critical'],
  ['dotted name: numpy + core.os.system', () => stackGlobalCall('numpy', 'core.os.system', 'id'), 'critical'],
  ['dotted name via dunder: collections + OrderedDict.__init__.__globals__', () => stackGlobalCall('collections', 'OrderedDict.__init__.__globals__'), 'critical'],
  ['re-export: torch.serialization + os', () => stackGlobalCall('torch.serialization', 'os'), 'critical'],
  ['re-export: some.module + eval', () => callPickle('pandas.core.computation', 'eval', '1'), 'critical'],
  ['INST opcode (no GLOBAL at all)', () => enc.encode("(S'id'\nios\nsystem\n."), 'critical'],
  ['OBJ opcode', () => enc.encode("(cos\nsystem\nS'id'\no."), 'critical'],
  ['NEWOBJ subprocess.Popen', () => pb().proto(2).global('subprocess', 'Popen').mark().binunicode('id').tuple().tuple1().newobj().stop().bytesOut(), 'critical'],
  ['NEWOBJ_EX subprocess.Popen', () => pb().proto(4).str('subprocess').str('Popen').stackGlobal().mark().str('id').tuple().tuple1().emptyDict().raw(0x92).stop().bytesOut(), 'critical'],
  [
    'memo confusion: BINPUT and MEMOIZE mixed (picklescan issue 14)',
    () => pb().proto(4).raw('U', 2, 'os').binput(0).raw('U', 6, 'system').binput(1).str('torch._utils').memoize().str('_rebuild_tensor_v2').memoize().binget(0).binget(1).stackGlobal().str('id').tuple1().reduce().stop().bytesOut(),
    'critical',
  ],
  [
    'STACK_GLOBAL fed from memo by GET (protocol 0 text memo)',
    () => cat(enc.encode("(S'os'\np0\nS'system'\np1\n0g0\ng1\n"), Uint8Array.from([0x93]), enc.encode("(S'id'\ntR.")),
    'critical',
  ],
  ['STACK_GLOBAL fed by escaped STRING', () => pb().proto(4).string0("'\\x6fs'").string0("'sys\\164em'").stackGlobal().string0("'id'").tuple1().reduce().stop().bytesOut(), 'critical'],
  ['STACK_GLOBAL fed by raw-unicode-escape UNICODE', () => pb().proto(4).unicode0('\\u006fs').unicode0('\\u0073ystem').stackGlobal().str('id').tuple1().reduce().stop().bytesOut(), 'critical'],
  ['trailing whitespace in name', () => enc.encode("cos\nsystem \n(S'id'\ntR."), 'critical'],
  [
    'getattr(__import__("os"), "system")("id") chain',
    () => pb().proto(2).global('builtins', 'getattr').mark().global('builtins', '__import__').mark().binunicode('os').tuple().reduce().binunicode('system').tuple().reduce().mark().binunicode('id').tuple().reduce().stop().bytesOut(),
    'critical',
  ],
  [
    'computed STACK_GLOBAL operands',
    () => pb().proto(4).global('builtins', 'str').mark().str('os').tuple().reduce().str('system').stackGlobal().str('id').tuple1().reduce().stop().bytesOut(),
    'critical',
  ],
  ['broken pickle: payload then garbage, no STOP', () => cat(enc.encode("cos\nsystem\n(S'id'\ntR"), Uint8Array.from([0xff, 0xfe, 0x00])), 'critical'],
  ['broken pickle: payload then truncated frame', () => cat(callPickle('os', 'system', 'id').subarray(0, -1), Uint8Array.from([0x95, 0xff, 0xff, 0, 0, 0, 0, 0, 0])), 'critical'],
  ['payload then stack underflow', () => cat(callPickle('os', 'system', 'id').subarray(0, -1), enc.encode('0000000.')), 'critical'],
  ['second pickle in stream is malicious', () => cat(pb().proto(2).emptyDict().stop().bytesOut(), callPickle('os', 'system', 'id')), 'critical'],
  ['pickle after junk (renamed file)', () => cat(enc.encode('GGUF-not-really\x00\x01\x02 junk junk\n'), callPickle('os', 'system', 'id')), 'critical'],
  ['protocol 0 pickle after junk', () => cat(Uint8Array.from([1, 2, 3, 250, 251]), enc.encode("cos\nsystem\n(S'id'\ntR.")), 'critical'],
  ['STACK_GLOBAL pickle without PROTO after junk', () => cat(Uint8Array.from([9, 9, 9]), pb().str('os').str('system').stackGlobal().str('id').tuple1().reduce().stop().bytesOut()), 'critical'],
  ['nested pickle in BINBYTES', () => pb().proto(3).bytes(callPickle('os', 'system', 'id')).stop().bytesOut(), 'critical'],
  ['nested pickle in BYTEARRAY8', () => {
    const inner = callPickle('os', 'system', 'id');
    const len = [inner.length, 0, 0, 0, 0, 0, 0, 0];
    return pb().proto(5).raw(0x96, len, inner).stop().bytesOut();
  }, 'critical'],
  ['frame straddling trick', () => {
    const body = pb().global('os', 'system').mark().binunicode('id').tuple().reduce().stop().bytesOut();
    return pb().proto(4).frame(5).raw(body).bytesOut();
  }, 'critical'],
  ['EXT1 extension code', () => pb().proto(2).raw(0x82, 1).mark().binunicode('id').tuple().reduce().stop().bytesOut(), 'high'],
  ['BUILD on an imported class (attribute overwrite)', () => pb().proto(2).global('collections', 'OrderedDict').emptyDict().str('__reduce__').none().setitem().build().stop().bytesOut(), 'high'],
  ['unknown gadget called with REDUCE', () => callPickle('somepkg.helpers', 'run_command', 'id'), 'high'],
  ['sklearn function called with REDUCE (constructible only)', () => callPickle('sklearn.utils._testing', 'assert_run_python_script', 'import os'), 'high'],
  ['dotted attribute walk through an unknown module', () => stackGlobalCall('somepkg', 'a.b.c'), 'high'],
  ['unsupported protocol number after payload', () => cat(callPickle('os', 'system', 'id').subarray(0, -1), Uint8Array.from([0x80, 9])), 'critical'],
];

describe('pickle: malicious samples are caught at high or critical', () => {
  for (const [name, make, expected] of malicious) {
    it(name, async () => {
      const { findings, result } = await scan(make());
      const w = worst(findings);
      expect(severityRank(w), JSON.stringify(findings.map((f) => [f.ruleId, f.severity, f.message]))).toBeGreaterThanOrEqual(severityRank(expected));
      expect(result.formats.length).toBeGreaterThan(0);
    });
  }
});

describe('pickle: details', () => {
  it('reports the call with its arguments and byte offset', async () => {
    const bytes = enc.encode("cos\nsystem\n(S'id'\ntR.");
    const { findings } = await scan(bytes);
    const call = findings.find((f) => f.ruleId === 'RMP-PICKLE-003');
    expect(call?.message).toContain('os.system("id"');
    expect(call?.location?.offset).toBe(bytes.indexOf(0x52));
    const imp = findings.find((f) => f.ruleId === 'RMP-PICKLE-001');
    expect(imp?.location?.offset).toBe(0);
  });
  it('resolves dotted names to what they reach', async () => {
    const { findings } = await scan(stackGlobalCall('torch', 'serialization.os.system', 'id'));
    const imp = findings.find((f) => f.ruleId === 'RMP-PICKLE-001');
    expect(imp?.details?.resolved).toBe('os.system');
  });
  it('a break after suspicious content is high', async () => {
    const { findings } = await scan(cat(callPickle('somepkg', 'x').subarray(0, -1), Uint8Array.from([0xff])));
    expect(findings.find((f) => f.ruleId === 'RMP-PICKLE-009')?.severity).toBe('high');
  });
  it('a plain broken pickle is medium, never clean', async () => {
    const { findings } = await scan(pb().proto(2).emptyDict().bytesOut());
    expect(findings.find((f) => f.ruleId === 'RMP-PICKLE-009')?.severity).toBe('medium');
  });
  it('user deny-list makes a global critical, allow-list silences an unknown one', async () => {
    const bytes = callPickle('mypkg.models', 'Net');
    const denied = await scanBuffer(bytes, 'x.pkl', { denyGlobals: ['mypkg.*'] });
    expect(worst(denied.findings)).toBe('critical');
    const allowed = await scanBuffer(bytes, 'x.pkl', { allowGlobals: ['mypkg.models.Net'] });
    expect(severityRank(worst(allowed.findings))).toBeLessThan(severityRank('medium'));
    // The allow-list cannot whitelist a built-in dangerous global.
    const os = await scanBuffer(callPickle('os', 'system', 'id'), 'x.pkl', { allowGlobals: ['os.system'] });
    expect(worst(os.findings)).toBe('critical');
  });
  it('stops at the operation limit with an incomplete finding', async () => {
    const b = pb().proto(2);
    for (let i = 0; i < 2000; i++) b.none().raw('0');
    const { findings, result } = await scanBuffer(b.none().stop().bytesOut(), 'x.pkl', { limits: { maxPickleOps: 500 } as never });
    expect(findings.some((f) => f.ruleId === 'RMP-SCAN-003')).toBe(true);
    expect(result.complete).toBe(false);
  });
});

describe('pickle: benign samples give nothing at medium or above', () => {
  const benign: [string, () => Uint8Array][] = [
    ['PyTorch-style state dict', () => torchStateDictPickle([{ name: 'fc.weight', key: '0', shape: [4, 3] }, { name: 'fc.bias', key: '1', shape: [4] }])],
    ['empty dict', () => pb().proto(2).emptyDict().stop().bytesOut()],
    ['list of ints', () => pb().proto(4).emptyList().mark().int(1).int(2).int(300).int(70000).appends().stop().bytesOut()],
    [
      'NumPy array as numpy pickles it (protocol 2: _reconstruct, ndarray, dtype, BUILD with raw bytes)',
      () =>
        pb().proto(2).global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).tuple1().shortBinstring('b').tuple3().reduce()
          .mark().int(1).int(3).tuple1().global('numpy', 'dtype').str('f8').bool(false).bool(true).tuple3().reduce()
          .mark().int(3).str('<').none().none().none().raw('J', [255, 255, 255, 255]).raw('J', [255, 255, 255, 255]).int(0).tuple().build()
          .bool(false).bytes(new Uint8Array(24)).tuple().build().stop().bytesOut(),
    ],
    [
      'scikit-learn estimator (NEWOBJ + BUILD of a state dict)',
      () => pb().proto(4).str('sklearn.linear_model._base').str('LinearRegression').stackGlobal().emptyTuple().newobj().emptyDict().str('fit_intercept').bool(true).setitem().build().stop().bytesOut(),
    ],
    [
      'scikit-learn estimator (protocol 0: copyreg._reconstructor)',
      () => enc.encode("ccopy_reg\n_reconstructor\n(csklearn.tree._classes\nDecisionTreeClassifier\nc__builtin__\nobject\nNtR(dS'max_depth'\nI3\nsb."),
    ],
  ];
  for (const [name, make] of benign) {
    it(name, async () => {
      const { findings, result } = await scanBuffer(make(), 'x.pkl');
      expect(severityRank(worst(findings)), JSON.stringify(findings)).toBeLessThan(severityRank('medium'));
      expect(result.complete).toBe(true);
      expect(result.formats).toContain('pickle');
    });
  }
});

function python(script: string): Uint8Array | undefined {
  try {
    return new Uint8Array(execFileSync('python3', ['-c', script], { maxBuffer: 1 << 24, timeout: 20_000 }));
  } catch {
    return undefined;
  }
}

describe('pickle: reference pickles written by CPython', () => {
  // One python3 run writes every sample, each prefixed by its 4-byte length.
  const script = [
    'import pickle,sys,os,collections,datetime,struct',
    'class E:',
    "  def __reduce__(self): return (os.system, ('id',))",
    "benign={'a':[1,2.5,'x',b'\\x00\\xff'*3,None,True],'s':{1,2},'f':frozenset([3]),'c':complex(1,2),'o':collections.OrderedDict(a=1),'t':(1,(2,)),'d':datetime.datetime(2020,1,2)}",
    'out=b""',
    'for p in range(6):',
    '  for obj in (benign, {"m": E()}):',
    '    b=pickle.dumps(obj, protocol=p); out+=struct.pack("<I",len(b))+b',
    'sys.stdout.buffer.write(out)',
  ].join('\n');
  it('benign objects are quiet and __reduce__ payloads critical, in every protocol', async () => {
    const all = python(script);
    if (!all) return; // python3 unavailable: the byte-level tests above still run
    const dv = new DataView(all.buffer, all.byteOffset, all.length);
    let off = 0;
    for (let p = 0; p <= 5; p++) {
      for (const kind of ['benign', 'evil']) {
        const n = dv.getUint32(off, true);
        const bytes = all.subarray(off + 4, off + 4 + n);
        off += 4 + n;
        const { findings } = await scanBuffer(bytes, `${kind}${p}.pkl`);
        if (kind === 'benign') expect(severityRank(worst(findings)), `protocol ${p}: ${JSON.stringify(findings)}`).toBeLessThan(severityRank('medium'));
        else expect(worst(findings)).toBe('critical');
      }
    }
  });
});
