// Classification of the globals a pickle imports: allow-list first (what PyTorch, NumPy and joblib
// write for plain tensors and arrays), then a curated list of known-dangerous callables and modules
// (critical), and everything else "unknown" (at least medium). Sources for the dangerous list:
// public scanner advisories and write-ups (picklescan GHSA advisories, ModelScan and fickling
// issues: pip.main, pydoc.locate, pkgutil.resolve_name, importlib, marshal, operator getters,
// asyncio subprocess transports, cProfile/profile/timeit/code runners, numpy f2py/testing helpers,
// torch dynamo/bottleneck helpers, imaplib.IMAP4_stream, mailcap.findmatch, ...).

export type GlobalClass = 'allowed' | 'constructible' | 'dangerous' | 'unknown';

export interface GlobalVerdict {
  klass: GlobalClass;
  /** The dotted name the import really reaches (after Python 2 renames and attribute walks). */
  resolved: string;
  /** Why it is dangerous / why it is allowed, one short phrase. */
  reason: string;
  /** The name walks attributes (`os.system` as a name, `serialization.os.system`). */
  attributeWalk: boolean;
}

export interface GlobalPolicy {
  allow: string[];
  deny: string[];
}

/**
 * Globals safe to import and call during unpickling. Each entry only builds data: containers,
 * numbers, tensors from storages, arrays from bytes. Nothing here reads files, imports by name,
 * or calls an argument it is given (a callable passed as argument is itself a global import and is
 * classified on its own).
 */
const ALLOWED = new Set<string>([
  // Containers and scalars (the built-ins CPython's docs list for a restricted unpickler, plus the
  // plain data types). Their constructors only build values from their arguments.
  'builtins.set', 'builtins.frozenset', 'builtins.list', 'builtins.dict', 'builtins.tuple', 'builtins.complex',
  'builtins.slice', 'builtins.range', 'builtins.bytearray', 'builtins.bytes', 'builtins.int', 'builtins.float',
  'builtins.bool', 'builtins.str', 'builtins.object',
  'collections.OrderedDict', 'collections.defaultdict', 'collections.Counter', 'collections.deque',
  // Used by pickle itself for protocol 0-2 objects and bytes: create an instance of a class that is
  // a separate import (and classified), or encode a str to bytes.
  'copyreg._reconstructor', 'copyreg.__newobj__', 'copyreg.__newobj_ex__', '_codecs.encode',
  // Common standard-library value types.
  'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone',
  'decimal.Decimal', 'fractions.Fraction', 'uuid.UUID', 'pathlib.PosixPath', 'pathlib.WindowsPath', 'pathlib.PurePosixPath', 'pathlib.PureWindowsPath',
  // PyTorch: what torch.save writes for tensors, parameters and storages (the same set PyTorch's own
  // weights_only unpickler accepts).
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state', 'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor', 'torch._utils._rebuild_nested_tensor', 'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_device_tensor_from_numpy', 'torch._utils._rebuild_wrapper_subclass', 'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._tensor._rebuild_from_type_v2', 'torch._tensor._rebuild_from_type',
  'torch.nn.parameter.Parameter', 'torch.nn.Parameter', 'torch.Tensor', 'torch.Size', 'torch.device', 'torch.dtype',
  'torch.serialization._get_layout', 'torch.layout', 'torch.strided', 'torch.sparse_coo', 'torch.sparse_csr', 'torch._mkldnn',
  'torch.per_tensor_affine', 'torch.per_channel_affine', 'torch.per_tensor_symmetric', 'torch.per_channel_symmetric',
  'torch.per_channel_affine_float_qparams', 'torch.contiguous_format', 'torch.channels_last', 'torch.preserve_format',
  'torch.float32', 'torch.float', 'torch.float64', 'torch.double', 'torch.float16', 'torch.half', 'torch.bfloat16',
  'torch.complex32', 'torch.complex64', 'torch.complex128', 'torch.cfloat', 'torch.cdouble', 'torch.uint8', 'torch.int8',
  'torch.int16', 'torch.short', 'torch.int32', 'torch.int', 'torch.int64', 'torch.long', 'torch.bool', 'torch.qint8',
  'torch.quint8', 'torch.qint32', 'torch.quint4x2', 'torch.quint2x4', 'torch.float8_e4m3fn', 'torch.float8_e5m2',
  'torch.uint16', 'torch.uint32', 'torch.uint64',
  'torch.FloatStorage', 'torch.DoubleStorage', 'torch.HalfStorage', 'torch.BFloat16Storage', 'torch.LongStorage',
  'torch.IntStorage', 'torch.ShortStorage', 'torch.CharStorage', 'torch.ByteStorage', 'torch.BoolStorage',
  'torch.ComplexFloatStorage', 'torch.ComplexDoubleStorage', 'torch.QInt8Storage', 'torch.QUInt8Storage',
  'torch.QInt32Storage', 'torch.QUInt4x2Storage', 'torch.QUInt2x4Storage', 'torch.UntypedStorage',
  'torch.storage.UntypedStorage', 'torch.storage.TypedStorage',
  // NumPy: array and scalar reconstruction from bytes, dtypes (numpy 1 and numpy 2 module names).
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype',
  'numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar', 'numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer',
  'numpy.ma.core._mareconstruct', 'numpy.ma.core.MaskedArray', 'numpy.matrix',
  'numpy.random._pickle.__randomstate_ctor', 'numpy.random._pickle.__generator_ctor', 'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random.mtrand.RandomState', 'numpy.random._generator.Generator', 'numpy.random._pcg64.PCG64', 'numpy.random._mt19937.MT19937',
  'numpy.int8', 'numpy.int16', 'numpy.int32', 'numpy.int64', 'numpy.uint8', 'numpy.uint16', 'numpy.uint32', 'numpy.uint64',
  'numpy.float16', 'numpy.float32', 'numpy.float64', 'numpy.complex64', 'numpy.complex128', 'numpy.bool_',
  // joblib: the wrapper that stands for an array whose bytes follow in the stream.
  'joblib.numpy_pickle.NumpyArrayWrapper',
]);

/** Allowed by prefix: data-type classes whose construction only builds a value. */
const ALLOWED_PREFIXES = ['numpy.dtypes.'];

/**
 * Classes that may be instantiated the way pickle rebuilds objects (NEWOBJ, copyreg._reconstructor)
 * and filled by BUILD: scikit-learn estimators. They are not allowed as direct calls (REDUCE), which
 * would reach module functions such as test helpers that run code.
 */
const CONSTRUCTIBLE_PREFIXES = ['sklearn.'];

/** Whole modules (and their submodules) whose members run code, touch files, processes or network. */
const DANGEROUS_MODULES = [
  'os', 'posix', 'nt', 'posixpath', 'ntpath', 'subprocess', '_posixsubprocess', 'pty', 'sys', 'commands', 'popen2',
  'importlib', '_imp', 'imp', '_frozen_importlib', '_frozen_importlib_external', 'zipimport', 'pkgutil', 'runpy',
  'pickle', '_pickle', 'cPickle', 'pickletools', 'dill', 'cloudpickle', 'shelve', 'marshal',
  'socket', '_socket', 'socketserver', 'ssl', 'http', 'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'aiohttp',
  'ftplib', 'smtplib', 'poplib', 'imaplib', 'nntplib', 'telnetlib', 'xmlrpc', 'webbrowser', 'mailcap', 'select', 'selectors',
  'shutil', 'tempfile', 'io', '_io', 'fileinput', 'glob', 'linecache', 'mmap', 'fcntl', 'tarfile', 'zipfile', 'sqlite3', 'dbm',
  'ctypes', '_ctypes', 'cffi', 'pip', 'ensurepip', 'venv', 'distutils', 'setuptools', 'site', 'sysconfig',
  'pydoc', 'code', 'codeop', 'timeit', 'trace', 'profile', 'cProfile', 'pdb', 'bdb', 'doctest', 'idlelib', 'lib2to3',
  'asyncio', 'multiprocessing', 'concurrent', 'threading', '_thread', 'signal', 'resource', 'gc', 'atexit', 'faulthandler',
  'builtins.__import__', 'logging.config', 'uuid._get_command_stdout', 'platform', '_osx_support', '_aix_support', '_pyrepl',
  'test', 'unittest', 'inspect', 'types', 'ast', 'dis', 'symtable', 'compileall', 'py_compile', 'tkinter', 'turtle',
  'jinja2', 'mako', 'yaml', 'jsonpickle', 'numexpr', 'sympy', 'IPython', 'ipykernel', 'nbformat', 'fabric', 'paramiko',
  'numpy.f2py', 'numpy.distutils', 'numpy.testing', 'numpy.lib.utils', 'numpy.ctypeslib', 'numpy.load', 'numpy.fromfile',
  'numpy.loadtxt', 'numpy.genfromtxt', 'numpy.save', 'numpy.tofile', 'numpy.memmap',
  'torch.load', 'torch.serialization', 'torch.hub', 'torch.jit', 'torch.package', 'torch._dynamo', 'torch._inductor',
  'torch.utils.bottleneck', 'torch.utils.cpp_extension', 'torch.utils.data.datapipes', 'torch.fx', 'torch._C._jit',
  'torch.distributed', 'torch.multiprocessing', 'torch.testing', 'torch.compile', 'torch.export', 'torch._export', 'torch.ops',
  'torch.library', 'torch.utils._config_module', 'torch.storage._load_from_bytes_unsafe', 'torch.classes',
  'keras', 'tensorflow', 'tf_keras', 'onnx', 'transformers.dynamic_module_utils', 'huggingface_hub', 'pandas.io', 'pandas.read_pickle',
  'joblib.load', 'joblib.numpy_pickle.load', 'joblib._parallel_backends', 'joblib.parallel',
];

/** Individual callables, keyed by module, that reach code execution or attribute access by name. */
const DANGEROUS_NAMES: Record<string, string[]> = {
  builtins: [
    'eval', 'exec', 'compile', 'open', '__import__', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars',
    'input', 'breakpoint', 'help', 'exit', 'quit', 'memoryview', 'classmethod', 'staticmethod', 'property', 'type',
    'super', 'dir', 'execfile', 'reload', 'file', 'apply',
  ],
  operator: ['attrgetter', 'itemgetter', 'methodcaller', 'getitem', 'setitem', 'delitem', 'call'],
  _operator: ['attrgetter', 'itemgetter', 'methodcaller', 'getitem', 'setitem', 'delitem', 'call'],
  functools: ['partial', 'reduce', 'partialmethod', 'singledispatch', 'wraps', 'update_wrapper', 'cached_property', 'lru_cache'],
  _functools: ['partial', 'reduce'],
  copyreg: ['add_extension', 'pickle', 'constructor', '_reduce_ex'],
  copy: ['copy', 'deepcopy'],
  codecs: ['open', 'lookup', 'decode', 'getreader', 'getincrementaldecoder'],
  _codecs: ['decode', 'lookup', 'register', 'charmap_build'],
  weakref: ['finalize', 'ref', 'proxy'],
  collections: ['namedtuple'],
  abc: ['ABCMeta'],
  contextlib: ['contextmanager', 'ExitStack', 'closing'],
  string: ['Formatter', 'Template'],
  logging: ['FileHandler', 'handlers'],
  cgitb: ['html', 'handler'],
  smtpd: ['SMTPServer'],
  'torch._utils': ['_load_global_deps', '_import_dotted_name'],
  torch: ['load', 'save', 'compile', 'set_default_device', '_load_global_deps'],
};

/** Module roots which, met as a component of an attribute path, mean the path reaches them. */
const DANGEROUS_ROOTS = new Set<string>([
  ...DANGEROUS_MODULES.filter((m) => !m.includes('.')),
  ...Object.values(DANGEROUS_NAMES.builtins ?? []),
  'builtins', '__builtin__', '__builtins__', 'operator', 'functools',
]);

/** Python 2 module names that the unpickler maps to their Python 3 names (fix_imports). */
const PY2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  cPickle: 'pickle',
  exceptions: 'builtins',
  UserDict: 'collections',
  UserList: 'collections',
  commands: 'subprocess',
  Queue: 'queue',
  urllib2: 'urllib.request',
  httplib: 'http.client',
  SocketServer: 'socketserver',
  cStringIO: 'io',
  StringIO: 'io',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  _winreg: 'winreg',
  __main__: '__main__',
};

function matchPattern(pattern: string, full: string): boolean {
  if (pattern.endsWith('.*')) return full.startsWith(pattern.slice(0, -1));
  if (pattern.endsWith('*')) return full.startsWith(pattern.slice(0, -1));
  return full === pattern;
}

function dangerousFull(full: string): string | undefined {
  for (const m of DANGEROUS_MODULES) {
    if (full === m || full.startsWith(`${m}.`)) return `${m} (code, process, file, network or import machinery)`;
  }
  const dot = full.lastIndexOf('.');
  // Try every split, so 'builtins.eval' and 'torch.load' match whatever the module/name split was.
  for (let i = full.indexOf('.'); i > 0 && i <= dot; i = full.indexOf('.', i + 1)) {
    const mod = full.slice(0, i);
    const rest = full.slice(i + 1);
    const names = DANGEROUS_NAMES[mod];
    const first = rest.split('.')[0] ?? rest;
    if (names && names.includes(first)) return `${mod}.${first}`;
  }
  return undefined;
}

/**
 * Classifies `module` + `name` as the unpickler's find_class would resolve it. User deny patterns
 * win over everything; user allow patterns cannot make a built-in dangerous global safe (accept a
 * reviewed finding with a baseline instead).
 */
export function classifyGlobal(moduleRaw: string, nameRaw: string, policy: GlobalPolicy): GlobalVerdict {
  // Lookup fails in CPython for names with surrounding whitespace, but be strict: classify the
  // trimmed form too, so an odd byte never turns a dangerous name into an "unknown" one.
  const module = PY2_MODULES[moduleRaw.trim()] ?? moduleRaw.trim();
  const name = nameRaw.trim();
  const full = `${module}.${name}`;
  const attributeWalk = name.includes('.');
  const verdict = (klass: GlobalClass, reason: string, resolved = full): GlobalVerdict => ({ klass, resolved, reason, attributeWalk });

  for (const p of policy.deny) if (matchPattern(p, full)) return verdict('dangerous', `denied by configuration (${p})`);
  // Exact allow-list entries first: a few safe helpers live in modules that are dangerous as a whole
  // (torch.serialization._get_layout).
  if (ALLOWED.has(full)) return verdict('allowed', 'on the built-in allow-list');

  const parts = name.split('.');
  if (attributeWalk || name.startsWith('__')) {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.startsWith('__') && p.endsWith('__') && p.length > 4) {
        return verdict('dangerous', `attribute walk through ${p} reaches interpreter internals`);
      }
      if ((i > 0 || attributeWalk) && DANGEROUS_ROOTS.has(p)) {
        const target = parts.slice(i).join('.');
        return verdict('dangerous', `attribute walk reaches ${dangerousFull(target) ?? target}`, target);
      }
    }
  }
  const direct = dangerousFull(full);
  if (direct) return verdict('dangerous', direct);

  if (parts.length === 1 && DANGEROUS_ROOTS.has(name) && module !== 'builtins') {
    // `torch.serialization` + `os`, `pandas` + `eval`: a dangerous module or builtin re-exported
    // under a harmless-looking module.
    return verdict('dangerous', `re-export of ${name}`, name);
  }

  if (!attributeWalk) {
    for (const p of ALLOWED_PREFIXES) if (full.startsWith(p)) return verdict('allowed', `on the built-in allow-list (${p}*)`);
  }
  for (const p of policy.allow) if (matchPattern(p, full)) return verdict('allowed', `allowed by configuration (${p})`);
  if (!attributeWalk) {
    for (const p of CONSTRUCTIBLE_PREFIXES) if (full.startsWith(p)) return verdict('constructible', `class of ${p}* (instantiation only)`);
  }
  return verdict('unknown', attributeWalk ? 'attribute walk through a module not on the allow-list' : 'not on the allow-list');
}

/** Size in bytes of one element of a PyTorch legacy storage type (`torch.FloatStorage` -> 4). */
export function storageElementSize(name: string): number | undefined {
  const sizes: Record<string, number> = {
    DoubleStorage: 8, FloatStorage: 4, HalfStorage: 2, BFloat16Storage: 2, LongStorage: 8, IntStorage: 4, ShortStorage: 2,
    CharStorage: 1, ByteStorage: 1, BoolStorage: 1, ComplexFloatStorage: 8, ComplexDoubleStorage: 16, QInt8Storage: 1,
    QUInt8Storage: 1, QInt32Storage: 4, QUInt4x2Storage: 1, QUInt2x4Storage: 1, UntypedStorage: 1,
  };
  const short = name.startsWith('torch.') ? name.slice(6) : name;
  return sizes[short];
}
