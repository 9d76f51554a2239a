"""Which globals a pickle may import: the allowlist-first policy behind the pickle scanners.

A pickle can only run code through the callables it imports (GLOBAL / STACK_GLOBAL / INST). So every
import gets one of three verdicts:

* ``safe`` — a known ML reconstruction global (torch's ``weights_only`` set, numpy's array and dtype
  rebuilders, plain containers, a few dataclasses/enums that training checkpoints carry). Calling it
  with arbitrary arguments cannot reach code the file chose.
* ``dangerous`` — a callable or module known to run commands, code, imports, file or network I/O, or
  to be a call/attribute gadget (``getattr``, ``operator.attrgetter``, ``pkgutil.resolve_name``,
  ``pydoc.locate``, ``torch._dynamo``/``torch._inductor``/``torch.fx``/``torch.jit`` helpers...).
  Built from picklescan's and modelscan's deny lists, fickling's ``UNSAFE_IMPORTS`` and the 2025–2026
  picklescan advisories (``pip.main``, ``pydoc.locate``, ``pkgutil.resolve_name``, ``uuid``,
  ``_osx_support``/``_aix_support``, ``_pyrepl``, ``imaplib.IMAP4_stream``, ``importlib``,
  ``marshal``, cloudpickle's code rebuilders...). Denylists are bypassed every month, which is why
  this list only sharpens the severity: anything not allowlisted is at least *unaudited*.
* ``unaudited`` — everything else: an import nobody has reviewed (high).

Matching is on the full dotted path ``module.name`` (the name may itself be dotted: protocol 4
resolves ``torch`` + ``serialization.load`` as ``getattr`` chains) and every prefix of it, so ``os``
covers ``os.system`` and ``os.path.join``. Attribute paths are also checked from every component of
the *name*, so ``somepkg`` + ``os.system`` (a module that imported ``os``) is dangerous, and any
dunder component (``__globals__``, ``__builtins__``, ``__class__``) is dangerous. Python 2 names
(``__builtin__``, ``copy_reg``, ``commands``, ``cPickle``...) are mapped the way ``pickle`` maps them
(``_compat_pickle``); both spellings are checked and the worse verdict wins. A module name that is
dangerous when lower-cased (``OS``, ``Subprocess``) is dangerous too: case-insensitive file systems
and ``PYTHONCASEOK`` make them importable.
"""

from __future__ import annotations

import re
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from warden.formats._allowlist_sklearn import SKLEARN_GLOBALS

__all__ = [
    "DANGEROUS",
    "NESTED_LOADERS",
    "SAFE_GLOBALS",
    "GlobalVerdict",
    "classify_global",
    "normalise_module",
]

VerdictKind = Literal["safe", "dangerous", "unaudited"]

# --------------------------------------------------------------------------------------------------
# Allowlist: exact dotted paths. Reviewed one by one: none of them can run code chosen by the file
# when called with arbitrary (non-callable) arguments; a dangerous callable passed as an argument is
# itself an import and gets its own verdict.

_TORCH_STORAGES = (
    "BFloat16Storage BoolStorage ByteStorage CharStorage ComplexDoubleStorage ComplexFloatStorage "
    "DoubleStorage FloatStorage HalfStorage IntStorage LongStorage QInt32Storage QInt8Storage "
    "QUInt2x4Storage QUInt4x2Storage QUInt8Storage ShortStorage"
).split()
_TORCH_TENSOR_TYPES = (
    "BFloat16Tensor BoolTensor ByteTensor CharTensor DoubleTensor FloatTensor HalfTensor IntTensor "
    "LongTensor ShortTensor"
).split()
_TORCH_DTYPES = (
    "bfloat16 bits16 bits1x8 bits2x4 bits4x2 bits8 bool complex128 complex32 complex64 float16 float32 "
    "float4_e2m1fn_x2 float64 float8_e4m3fn float8_e4m3fnuz float8_e5m2 float8_e5m2fnuz float8_e8m0fnu "
    "int1 int2 int3 int4 int5 int6 int7 int8 int16 int32 int64 qint32 qint8 quint2x4 quint4x2 quint8 "
    "uint1 uint2 uint3 uint4 uint5 uint6 uint7 uint8 uint16 uint32 uint64 half float double long int "
    "short cfloat cdouble chalf"
).split()
_TORCH_ENUMS = (
    "per_channel_affine per_channel_affine_float_qparams per_channel_symmetric per_tensor_affine "
    "per_tensor_symmetric strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn "
    "contiguous_format channels_last channels_last_3d preserve_format"
).split()
# torch/_weights_only_unpickler.py::_tensor_rebuild_functions (torch 2.13) plus older spellings.
_TORCH_REBUILD = (
    "_rebuild_parameter _rebuild_parameter_with_state _rebuild_qtensor _rebuild_tensor "
    "_rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_sparse_tensor _rebuild_meta_tensor_no_storage "
    "_rebuild_nested_tensor _rebuild_wrapper_subclass _rebuild_device_tensor_from_numpy "
    "_rebuild_device_tensor_from_cpu_tensor _rebuild_xla_tensor _rebuild_mps_tensor "
    "_rebuild_sparse_csr_tensor"
).split()
# torch.nn.functional's tensor functions, as modules hold them (``TransformerEncoderLayer(activation=
# F.relu)`` pickles ``torch.nn.functional.relu``; builtins such as ``F.gelu`` pickle as
# ``torch._C._nn.gelu``). Each only computes on the tensors it is given. Listed by exact name: not
# ``handle_torch_function``, ``boolean_dispatch`` or anything else the module imports.
_TORCH_FUNCTIONAL = (
    "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d_with_indices "
    "adaptive_max_pool2d_with_indices adaptive_max_pool3d_with_indices affine_grid alpha_dropout "
    "batch_norm binary_cross_entropy binary_cross_entropy_with_logits celu cosine_embedding_loss "
    "cross_entropy ctc_loss dropout dropout1d dropout2d dropout3d elu embedding embedding_bag "
    "feature_alpha_dropout fold fractional_max_pool2d_with_indices fractional_max_pool3d_with_indices "
    "gaussian_nll_loss glu grid_sample group_norm gumbel_softmax hardsigmoid hardswish hardtanh "
    "hinge_embedding_loss huber_loss instance_norm interpolate kl_div l1_loss layer_norm leaky_relu "
    "local_response_norm log_softmax lp_pool1d lp_pool2d lp_pool3d margin_ranking_loss "
    "max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices max_unpool1d max_unpool2d "
    "max_unpool3d mish mse_loss multi_margin_loss multilabel_margin_loss multilabel_soft_margin_loss "
    "nll_loss normalize pad poisson_nll_loss relu relu6 rms_norm rrelu selu sigmoid silu smooth_l1_loss "
    "soft_margin_loss softmax softmin softsign tanh tanhshrink _threshold triplet_margin_loss unfold "
    "upsample upsample_bilinear upsample_nearest"
).split()
_TORCH_C_NN = (
    "avg_pool2d avg_pool3d elu_ gelu hardtanh_ leaky_relu_ linear log_sigmoid one_hot "
    "scaled_dot_product_attention softplus softshrink"
).split()
_NUMPY_SCALARS = (
    "bool_ bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc intp uintp longlong "
    "ulonglong byte ubyte short ushort float16 float32 float64 half single double longdouble "
    "complex64 complex128 clongdouble csingle cdouble str_ bytes_ void datetime64 timedelta64 "
    "object_ generic number integer floating"
).split()

SAFE_GLOBALS: frozenset[str] = frozenset(
    [
        # torch: the weights_only unpickler's allowlist
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "torch.nn.parameter.Parameter",
        "torch.nn.parameter.Buffer",
        "torch.serialization._get_layout",
        "torch.storage.TypedStorage",
        "torch.storage.UntypedStorage",
        "torch.UntypedStorage",
        "torch.TypedStorage",
        "torch._tensor._rebuild_from_type_v2",
        "torch._utils._rebuild_tensor_v2",
        *(f"torch.{s}" for s in _TORCH_STORAGES),
        *(f"torch.cuda.{s}" for s in _TORCH_STORAGES),
        *(f"torch.{t}" for t in _TORCH_TENSOR_TYPES),
        *(f"torch.cuda.{t}" for t in _TORCH_TENSOR_TYPES),
        *(f"torch.sparse.{t}" for t in _TORCH_TENSOR_TYPES),
        *(f"torch.cuda.sparse.{t}" for t in _TORCH_TENSOR_TYPES),
        *(f"torch.{d}" for d in _TORCH_DTYPES),
        *(f"torch.{e}" for e in _TORCH_ENUMS),
        *(f"torch._utils.{f}" for f in _TORCH_REBUILD),
        *(f"torch.nn.functional.{f}" for f in _TORCH_FUNCTIONAL),
        *(f"torch._C._nn.{f}" for f in _TORCH_C_NN),
        # Nested loader: its bytes argument is scanned as an embedded file (see NESTED_LOADERS).
        "torch.storage._load_from_bytes",
        # numpy arrays, dtypes, scalars, RNG state
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.ma.core._mareconstruct",
        "numpy.matrixlib.defmatrix.matrix",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._generator.Generator",
        "numpy.random.mtrand.RandomState",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM",
        "numpy.random._mt19937.MT19937",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",  # Cython: SeedSequence.__new__(type)
        *(f"numpy.{s}" for s in _NUMPY_SCALARS),
        # joblib's array placeholder: the array bytes that follow it are parsed by the walker
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        # builtins that only build data
        "builtins.set",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.complex",
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.str",
        "builtins.tuple",
        "builtins.list",
        "builtins.dict",
        "builtins.range",
        "builtins.object",
        "builtins.Ellipsis",
        "builtins.NotImplemented",
        # copyreg's object rebuilders (class + base are imports with their own verdicts)
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "_codecs.encode",
        # plain value types
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "argparse.Namespace",
        "types.SimpleNamespace",
        "array.array",
        "array._array_reconstructor",
        "re._compile",
        "_io.BytesIO",
        "io.BytesIO",
        # Dataclasses and enums that training checkpoints (training_args.bin) carry; unpickling sets
        # their __dict__ and runs no validation or I/O (fickling's ML allowlist reviewed the same).
        "transformers.training_args.TrainingArguments",
        "transformers.training_args.OptimizerNames",
        "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
        "transformers.trainer_utils.SchedulerType",
        "transformers.trainer_utils.HubStrategy",
        "transformers.trainer_utils.EvaluationStrategy",
        "transformers.trainer_utils.FSDPOption",
        "transformers.trainer_utils.SaveStrategy",
        "transformers.trainer_utils.ShardedDDPOption",
        "transformers.trainer_pt_utils.AcceleratorConfig",
        "transformers.training_args.ParallelMode",
        "transformers.debug_utils.DebugOption",
        "transformers.trainer_utils.IntervalStrategy",
        "accelerate.utils.dataclasses.DistributedType",
        # accelerate's enums and plain config dataclasses as TrainingArguments / Accelerator state
        # carry them (accelerate 1.x): unpickling sets fields; __post_init__ does not run.
        "accelerate.utils.dataclasses.DynamoBackend",
        "accelerate.utils.dataclasses.PrecisionType",
        "accelerate.utils.dataclasses.ComputeEnvironment",
        "accelerate.utils.dataclasses.SageMakerDistributedType",
        "accelerate.utils.dataclasses.RNGType",
        "accelerate.utils.dataclasses.LoggerType",
        "accelerate.utils.dataclasses.GradientAccumulationPlugin",
        "accelerate.utils.dataclasses.DataLoaderConfiguration",
        "accelerate.utils.dataclasses.ProjectConfiguration",
        "accelerate.utils.dataclasses.TorchDynamoPlugin",
        "accelerate.utils.dataclasses.DistributedDataParallelKwargs",
        "accelerate.utils.dataclasses.GradScalerKwargs",
        "accelerate.utils.dataclasses.InitProcessGroupKwargs",
        "accelerate.utils.dataclasses.AutocastKwargs",
        "accelerate.parallelism_config.ParallelismConfig",
        # TrainingArguments.distributed_state: accelerate's process-state singletons. No __new__,
        # __setstate__ or __reduce__ (only an error-message __getattr__): rebuilt as object.__new__
        # plus a __dict__ update, without the __init__ that reads the environment.
        "accelerate.state.PartialState",
        "accelerate.state.AcceleratorState",
        "accelerate.state.GradientState",
        "trl.trainer.sft_config.SFTConfig",
        "trl.trainer.dpo_config.DPOConfig",
        "trl.trainer.dpo_config.FDivergenceType",
        "trl.trainer.grpo_config.GRPOConfig",
        "trl.trainer.kto_config.KTOConfig",
        # scikit-learn estimators and their internals, exact paths (see _allowlist_sklearn)
        *SKLEARN_GLOBALS,
    ]
)

# Allowlisted callables whose (bytes) argument is itself a serialized file that gets loaded: the
# walker hands that argument back to the scanning core as an embedded file instead of trusting it.
NESTED_LOADERS: frozenset[str] = frozenset({"torch.storage._load_from_bytes"})

# Classes of torch.nn: rebuilt with __new__ + __dict__ update (Module.__setstate__ only updates the
# dict). Matched only for a single capitalised name component and *after* the dangerous checks.
_SAFE_CLASS_MODULES = re.compile(r"torch\.nn\.modules\.[a-z_0-9]+")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")

# --------------------------------------------------------------------------------------------------
# Dangerous: dotted patterns; a pattern covers the path itself and everything under it. A ``*`` in
# a component matches within that component (``torch._C._jit*``). Value: why it is dangerous.

DANGEROUS: dict[str, str] = {
    # process execution and OS access
    "os": "operating-system access (os.system, os.popen, os.exec*, file writes)",
    "posix": "alias of os on POSIX (posix.system)",
    "nt": "alias of os on Windows (nt.system)",
    "_posixsubprocess": "low-level process spawning",
    "subprocess": "runs processes",
    "commands": "Python 2 subprocess (mapped to subprocess by pickle)",
    "popen2": "runs processes",
    "pty": "pty.spawn runs commands",
    "pexpect": "runs processes",
    "sys": "interpreter internals (sys.modules overrides, exit, settrace)",
    "signal": "signal handlers",
    "_signal": "signal handlers",
    "atexit": "registers code run at exit",
    "platform": "platform helpers spawn processes",
    "uuid": "uuid._get_command_stdout runs commands (picklescan GHSA-g38g-8gr9-h9xp)",
    "_osx_support": "_read_output / _find_build_tool run commands",
    "_aix_support": "_read_cmd_output runs commands",
    "_pyrepl": "pager helpers run commands",
    "imaplib.IMAP4_stream": "runs a command through a shell",
    "webbrowser": "opens URLs / runs browsers",
    "multiprocessing": "spawns processes",
    "concurrent": "executors run callables",
    "threading": "runs callables in threads",
    "_thread": "runs callables in threads",
    "asyncio": "subprocess and network primitives",
    "sched": "runs callables",
    # code execution and import machinery
    "builtins.eval": "evaluates code",
    "builtins.exec": "executes code",
    "builtins.execfile": "executes a file",
    "builtins.compile": "compiles code objects",
    "builtins.__import__": "imports arbitrary modules",
    "builtins.getattr": "attribute-access gadget (reaches any function)",
    "builtins.setattr": "overwrites attributes",
    "builtins.delattr": "deletes attributes",
    "builtins.globals": "exposes module globals",
    "builtins.locals": "exposes local variables",
    "builtins.vars": "exposes namespaces",
    "builtins.open": "opens files",
    "builtins.breakpoint": "starts a debugger",
    "builtins.input": "reads the terminal",
    "builtins.help": "starts pydoc",
    "builtins.apply": "Python 2 call gadget",
    "builtins.reload": "re-imports modules",
    "builtins.file": "Python 2 file open",
    "builtins.exit": "exits the process",
    "builtins.quit": "exits the process",
    "runpy": "runs modules and code (runpy._run_code)",
    "code": "interactive interpreter (InteractiveInterpreter.runcode)",
    "codeop": "compiles code",
    "marshal": "loads code objects",
    "types": "builds code and function objects (types.CodeType, types.FunctionType)",
    "importlib": "imports arbitrary modules",
    "_frozen_importlib": "import machinery",
    "_frozen_importlib_external": "import machinery",
    "_imp": "import machinery",
    "imp": "import machinery (imp.load_source)",
    "pkgutil": "pkgutil.resolve_name reaches any function (GHSA-vvpj-8cmc-gx39)",
    "zipimport": "imports code from archives",
    "site": "site configuration runs code",
    "inspect": "introspection gadget",
    "gc": "reaches every live object",
    "ctypes": "foreign function interface",
    "_ctypes": "foreign function interface",
    "cffi": "foreign function interface",
    "mmap": "raw memory mapping",
    "operator.attrgetter": "attribute-access gadget",
    "operator.methodcaller": "method-call gadget",
    "operator.itemgetter": "item-access gadget",
    "operator.call": "call gadget",
    "_operator": "C implementation of operator gadgets",
    "functools.partial": "wraps a callable with arguments (partial(os.system, ...))",
    "functools.partialmethod": "wraps a callable with arguments",
    "functools.reduce": "repeatedly calls a callable",
    "functools.singledispatch": "wraps a callable",
    "_functools": "C implementation of functools gadgets",
    "itertools.starmap": "calls a callable over arguments",
    "copyreg.add_extension": "edits the extension registry used by EXT opcodes",
    "copyreg.pickle": "registers reducers",
    # nested deserialisation: loads another payload chosen by the file
    "pickle": "nested pickle loads",
    "_pickle": "nested pickle loads",
    "cPickle": "nested pickle loads",
    "pickletools": "pickle internals",
    "shelve": "pickle-backed storage",
    "dill": "dill rebuilds code objects",
    "cloudpickle": "cloudpickle rebuilds functions from code objects",
    "joblib.load": "nested joblib load",
    "joblib.numpy_pickle.load": "nested joblib load",
    "numpy.load": "numpy.load(allow_pickle=True) loads pickles",
    "numpy.lib.npyio": "numpy.load and text readers",
    "numpy.lib._npyio_impl": "numpy.load",
    "numpy.lib.format.read_array": "reads arrays with allow_pickle",
    "numpy.f2py": "evaluates strings",
    "numpy.testing": "numpy.testing._private.utils.runstring is exec",
    "numpy.distutils": "builds and runs compilers",
    "numpy.ctypeslib": "loads shared libraries",
    "numpy.memmap": "creates or overwrites files",
    "numpy.save": "writes files",
    "numpy.savez": "writes files",
    "numpy.savez_compressed": "writes files",
    "numpy.savetxt": "writes files",
    "numpy.fromfile": "reads arbitrary files",
    "numpy.loadtxt": "reads arbitrary files",
    "numpy.genfromtxt": "reads arbitrary files",
    "pandas.read_pickle": "nested pickle loads",
    "pandas.io.pickle": "nested pickle loads",
    "pandas.eval": "evaluates expressions",
    "pandas.core.computation": "evaluates expressions",
    "torch.load": "nested torch.load",
    "torch.serialization.load": "nested torch.load",
    "torch.serialization._legacy_load": "nested torch.load",
    "torch.hub": "downloads and runs code (torch.hub.load)",
    "torch.package": "imports code from packages",
    "torch._dynamo": "compiler internals usable as exec gadgets (GuardBuilder.get)",
    "torch._inductor": "compiles and runs code (codecache.compile_file)",
    "torch.fx": "code generation (symbolic_shapes.ShapeEnv.evaluate_guards_expression, GraphModule)",
    "torch.jit": "TorchScript compilation and loading (unsupported_tensor_ops.execWrapper)",
    "torch._C._jit*": "TorchScript internals",
    "torch._C._import*": "TorchScript import",
    "torch._C._load*": "TorchScript load",
    "torch.ops.load_library": "loads shared libraries",
    "torch._ops.load_library": "loads shared libraries",
    "torch.library": "registers operators",
    "torch.utils.cpp_extension": "compiles and loads native code",
    "torch.utils.bottleneck": "runs profilers on scripts",
    "torch.utils.collect_env": "runs commands",
    "torch.utils._config_module": "ConfigModule.load_config unpickles",
    "torch.utils.data.datapipes.utils.decoder": "basichandlers unpickles",
    "torch.utils.data.datapipes": "datapipes open files and run callables",
    "torch.distributed": "rpc / launch helpers run remote code",
    "torch.multiprocessing": "spawns processes",
    "torch.testing._internal": "test helpers run processes",
    "torch.export.load": "loads exported programs",
    "torch.compiler": "compiler entry points",
    "torch._export": "loads exported programs",
    "tensorflow": "TensorFlow I/O and code paths (tf.io.write_file, keras loaders)",
    "keras": "Keras loaders (Lambda layers run code)",
    "transformers.dynamic_module_utils": "imports remote code",
    # debuggers, profilers, test runners
    "pdb": "debugger (runs code)",
    "bdb": "debugger (runs code)",
    "cProfile": "cProfile.run executes code",
    "profile": "profile.run executes code",
    "_lsprof": "profiler internals",
    "trace": "Trace.run executes code",
    "timeit": "timeit executes code",
    "doctest": "runs docstring code",
    "unittest": "runs tests (code)",
    "test": "CPython test helpers spawn interpreters",
    "pydoc": "pydoc.locate imports anything; pydoc.pipepager runs commands",
    "idlelib": "IDLE runs code",
    "lib2to3": "grammar loaders unpickle",
    "distutils": "build helpers write files and run compilers",
    "setuptools": "build helpers run code",
    "pip": "pip.main installs packages (picklescan 2025 bypass)",
    "ensurepip": "runs pip",
    "venv": "creates environments and runs pip",
    "compileall": "writes bytecode",
    "py_compile": "writes bytecode",
    # file system
    "shutil": "copies, moves and deletes files",
    "tempfile": "creates files",
    "io.open": "opens files",
    "io.open_code": "opens files",
    "io.FileIO": "opens files",
    "_io.open": "opens files",
    "_io.open_code": "opens files",
    "_io.FileIO": "opens files",
    "codecs.open": "opens files",
    "tarfile": "extracts archives",
    "zipfile": "extracts archives",
    "fileinput": "reads files",
    "linecache": "reads files",
    "glob": "enumerates files",
    "logging.FileHandler": "creates files",
    "logging.handlers": "handlers open files, sockets and run commands",
    "logging.config": "dictConfig instantiates arbitrary factories",
    "logging.basicConfig": "creates files",
    "sqlite3": "creates database files",
    "_sqlite3": "creates database files",
    "dbm": "creates database files",
    # network
    "socket": "network access",
    "_socket": "network access",
    "ssl": "network access (ssl.get_server_certificate exfiltration)",
    "_ssl": "network access",
    "select": "network multiplexing",
    "selectors": "network multiplexing",
    "socketserver": "network servers",
    "http": "HTTP clients and servers",
    "httplib": "HTTP client (Python 2)",
    "urllib": "URL fetching (urllib.request.urlopen)",
    "urllib2": "URL fetching (Python 2)",
    "urllib3": "URL fetching",
    "requests": "URL fetching",
    "httpx": "URL fetching",
    "aiohttp": "URL fetching",
    "ftplib": "network access",
    "smtplib": "network access",
    "poplib": "network access",
    "telnetlib": "network access",
    "nntplib": "network access",
    "xmlrpc": "remote procedure calls",
    "huggingface_hub": "downloads files",
}

# Last path components that mean "run / import / load" whatever module they hang off.
_DANGEROUS_LEAVES = frozenset(
    {
        "system",
        "popen",
        "popen2",
        "popen3",
        "popen4",
        "eval",
        "exec",
        "execfile",
        "__import__",
        "import_module",
        "load_library",
        "from_pretrained",
        "_run_code",
        "run_code",
        "runcode",
        "runsource",
        "check_output",
        "check_call",
        "getoutput",
        "getstatusoutput",
        "startfile",
        "spawn",
        "posix_spawn",
        "resolve_name",
        "load_source",
    }
)
_DANGEROUS_LEAF_PREFIXES = ("exec", "spawn")


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    parts = []
    for p in sorted(patterns):
        parts.append(re.escape(p).replace(r"\*", r"[^.]*"))
    return re.compile(r"(?:" + "|".join(parts) + r")(?:\..*)?", re.DOTALL)


_DANGEROUS_RE = _compile(DANGEROUS)


@dataclass(frozen=True)
class GlobalVerdict:
    kind: VerdictKind
    path: str  # the dotted path the verdict is about (after Python 2 mapping when that applied)
    reason: str


def normalise_module(module: str) -> str:
    """``__builtin__`` → ``builtins`` and the other Python 2 module names pickle maps."""
    return IMPORT_MAPPING.get(module, module)


def _pattern_reason(module: str, name: str) -> str | None:
    """Reason when the path, or an attribute path inside the name, matches a dangerous pattern."""
    full = f"{module}.{name}"
    for candidate in (full, full.lower()):
        if _DANGEROUS_RE.fullmatch(candidate):
            return _reason_for(candidate)
    # Attribute traversal: ``pkg`` + ``os.system`` is getattr(getattr(pkg, "os"), "system").
    name_parts = name.split(".")
    for start in range(len(name_parts) - 1):
        tail = ".".join(name_parts[start:])
        for candidate in (tail, tail.lower()):
            if _DANGEROUS_RE.fullmatch(candidate):
                return f"attribute path reaches {candidate!r}: {_reason_for(candidate)}"
    return None


def _heuristic_reason(name: str) -> str | None:
    """Reason when a name component is a dunder or a run/import/load verb."""
    name_parts = name.split(".")
    for part in name_parts:
        if len(part) > 4 and part.startswith("__") and part.endswith("__"):
            return f"dunder attribute {part!r} (attribute traversal into interpreter internals)"
    leaf = name_parts[-1]
    if leaf in _DANGEROUS_LEAVES or leaf.startswith(_DANGEROUS_LEAF_PREFIXES):
        return f"{leaf!r} runs, imports or loads code whatever module it hangs off"
    return None


def _dangerous_reason(candidates: list[tuple[str, str]]) -> str | None:
    for mod, nm in candidates:
        why = _pattern_reason(mod, nm)
        if why is not None:
            return why
    for _mod, nm in candidates:
        why = _heuristic_reason(nm)
        if why is not None:
            return why
    return None


def _reason_for(path: str) -> str:
    parts = path.split(".")
    for k in range(len(parts), 0, -1):
        prefix = ".".join(parts[:k])
        if prefix in DANGEROUS:
            return DANGEROUS[prefix]
        for pattern, reason in DANGEROUS.items():
            if "*" in pattern and re.fullmatch(re.escape(pattern).replace(r"\*", r"[^.]*"), prefix):
                return reason
    return "known dangerous"


def _is_safe(module: str, name: str) -> bool:
    if f"{module}.{name}" in SAFE_GLOBALS:
        return True
    return bool(_SAFE_CLASS_MODULES.fullmatch(module) and _CLASS_NAME.fullmatch(name))


def classify_global(module: str, name: str) -> GlobalVerdict:
    """The verdict for importing ``module``/``name`` (as read from a GLOBAL, STACK_GLOBAL or INST).

    Python 2 names are mapped as pickle maps them for protocols < 3 (``fix_imports``); the original
    names do not exist on Python 3, so the mapped name is the one judged safe or not, while both
    spellings are checked for danger.
    """
    mapped_module, mapped_name = module, name
    if (module, name) in NAME_MAPPING:
        mapped_module, mapped_name = NAME_MAPPING[(module, name)]
    elif module in IMPORT_MAPPING:
        mapped_module = IMPORT_MAPPING[module]
    candidates = [(module, name)]
    if (mapped_module, mapped_name) != (module, name):
        candidates.append((mapped_module, mapped_name))
    effective = candidates[-1]

    # 1. exactly allowlisted (reviewed) → safe, unless the other spelling is dangerous
    mod, nm = effective
    others = [c for c in candidates if c != effective]
    if f"{mod}.{nm}" in SAFE_GLOBALS and _dangerous_reason(others) is None:
        return GlobalVerdict("safe", f"{mod}.{nm}", "allowlisted ML reconstruction global")
    # 2. dangerous under any spelling
    why = _dangerous_reason(candidates)
    if why is not None:
        return GlobalVerdict("dangerous", f"{mod}.{nm}", why)
    # 3. allowlisted class patterns (torch.nn modules)
    if _is_safe(mod, nm):
        return GlobalVerdict("safe", f"{mod}.{nm}", "allowlisted torch.nn module class")
    if not _looks_importable(mod, nm):
        return GlobalVerdict("unaudited", f"{mod}.{nm}", "not a valid Python module/attribute path")
    return GlobalVerdict(
        "unaudited", f"{mod}.{nm}", "import not on the allowlist of ML reconstruction globals"
    )


_IDENT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _looks_importable(module: str, name: str) -> bool:
    return bool(_IDENT_PATH.fullmatch(module) and _IDENT_PATH.fullmatch(name))
