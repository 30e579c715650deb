"""The limited child process that runs one exercise of one submission.

It is forked from a worker that has already imported torch (see worker.py),
locks itself down (own session, resource limits, no network, unprivileged
uid, scratch folder), loads the submission's definitions on top of the
course preamble and calls the student's function on every case. Results go
back as JSON lines on a dedicated pipe: each tensor as its shape and raw
float64 bytes, converted with functions captured before any student code
ran. The grader compares them in its own process, so nothing done here
(patched torch, lying tensor subclasses, printed fake reports) can change a
verdict. Tripwires replace the exercise's forbidden functions for the whole
run and report any call at once.
"""

import ast
import base64
import ctypes
import json
import os
import resource
import signal
import sys
import types
from fnmatch import fnmatchcase

import numpy as np
import torch

from .extract import PREAMBLE

# Captured now, in the worker, before any student code can patch them.
_write, _dup2, _exit = os.write, os.dup2, os._exit
_dumps, _b64 = json.dumps, base64.b64encode
_TensorBase, _ndarray = torch._C.TensorBase, np.ndarray
_detach, _to, _contig, _numpy, _numel = (
    torch.Tensor.detach,
    torch.Tensor.to,
    torch.Tensor.contiguous,
    torch.Tensor.numpy,
    torch.Tensor.numel,
)
_tobytes, _astype = np.ndarray.tobytes, np.ndarray.astype
_DisableTorchFunction, _float64 = torch._C.DisableTorchFunction, torch.float64
_BaseException, _isinstance, _issubclass, _type, _str = (
    BaseException,
    isinstance,
    issubclass,
    type,
    str,
)

MAX_ELEMENTS = 2**24  # a returned tensor larger than this is not an answer to these exercises
SANDBOX_UID_BASE = int(os.environ.get("D2LCNN_SANDBOX_UID", "64000"))  # + worker slot, when root
SANDBOX_GID = 65534  # nogroup
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_BIND, MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 4096, 16384, 1 << 18, 2, 4
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

# Modules whose attributes the tripwires replace (those imported at the time).
TRIPWIRE_MODULES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.modules.conv",
    "torch.nn.modules.pooling",
    "torch.nn.modules.fold",
    "torch._C",
    "torch._C._nn",
    "torch._C._VariableFunctions",
    "scipy.signal",
    "scipy.ndimage",
    "numpy",
)


class ForbiddenCall(Exception):
    """Raised by a tripwire: the exercise called a function it may not use."""


def _send(fd, message):
    data = (_dumps(message) + "\n").encode()
    while data:
        data = data[_write(fd, data) :]


def encode(value):
    """A returned value as plain JSON data: tensors and arrays as float64 bytes."""
    if _isinstance(value, tuple):
        return {"kind": "tuple", "items": [encode(v) for v in tuple.__iter__(value)][:64]}
    if _type(value) in (int, bool, float):
        return {"kind": "number", "value": value if _type(value) is float else int(value)}
    if _isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"kind": "number", "value": value.item()}
    try:
        if _type(value) is list:  # nested lists of numbers, as the comparison has always accepted
            value = np.array(value, dtype=np.float64)
        if _issubclass(_type(value), _TensorBase):
            with _DisableTorchFunction():
                t = _detach(value)
                if t.is_complex() or _numel(t) > MAX_ELEMENTS:
                    return {
                        "kind": "other",
                        "type": f"tensor of {t.dtype} with {_numel(t)} elements",
                    }
                dtype, shape = _str(t.dtype), [int(d) for d in t.shape]
                arr = _numpy(_contig(_to(t, device="cpu", dtype=_float64)))
        elif (
            _issubclass(_type(value), _ndarray)
            and value.dtype.kind in "biuf"
            and value.size <= MAX_ELEMENTS
        ):
            dtype, shape = f"numpy.{value.dtype}", [int(d) for d in value.shape]
            arr = _astype(value, np.float64)
        else:
            return {"kind": "other", "type": _type(value).__name__[:80]}
        return {
            "kind": "tensor",
            "dtype": dtype,
            "shape": shape,
            "data": _b64(_tobytes(arr)).decode("ascii"),
        }
    except _BaseException as e:
        return {
            "kind": "other",
            "type": f"{_type(value).__name__[:80]} (unreadable: {_type(e).__name__})",
        }


def describe(error, student_files):
    """An exception as data: type, message (capped) and the student's lines in its traceback."""
    try:
        message = _str(error)[:300]
    except _BaseException:
        message = "<message could not be shown>"
    frames, tb = [], error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in student_files:
            frames.append([tb.tb_frame.f_code.co_filename, tb.tb_lineno])
        tb = tb.tb_next
    return {"type": _type(error).__name__[:80], "message": message, "frames": frames[-3:]}


# ---- locking the process down -------------------------------------------------


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _traversable(path, uid, gid):
    """Whether ``uid`` can reach ``path`` (x on every folder above it, read on it)."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        st = os.stat(os.sep.join(parts[:i]) or os.sep)
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            return os.sep.join(parts[:i])
    return None


def expose_interpreter(libc, uid, gid):
    """Make Python's own files reachable for ``uid`` inside a private mount namespace.

    When the interpreter lives under a private folder (pyenv in /root, say),
    an unprivileged process could not import anything not loaded yet. A
    tmpfs over that folder with the installation bind-mounted back fixes it
    and hides the rest of the folder.
    """
    needed = sorted(
        {
            os.path.realpath(p)
            for p in (sys.base_prefix, sys.prefix, *sys.path)
            if p and os.path.isdir(p)
        }
    )
    blocked = {}
    for path in needed:
        top = _traversable(path, uid, gid)
        if top and not any(path.startswith(b + os.sep) for b in blocked.get(top, [])):
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    for top, paths in blocked.items():
        fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in paths]
        if (
            libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755,size=64k")
            != 0
        ):
            raise OSError(ctypes.get_errno(), f"mount tmpfs on {top}")
        for path, fd in zip(paths, fds):
            os.makedirs(path, mode=0o755, exist_ok=True)
            if (
                libc.mount(
                    f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None
                )
                != 0
            ):
                raise OSError(ctypes.get_errno(), f"bind {path}")
            os.close(fd)


def hide(libc, paths, keep):
    """Cover each folder in ``paths`` with an empty, unreadable tmpfs (not those holding ``keep``)."""
    for path in paths:
        path = os.path.realpath(path)
        if not os.path.isdir(path) or any(k == path or k.startswith(path + os.sep) for k in keep):
            continue
        libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=000,size=4k")


def check_interpreter_reachable(slot):
    """A warning (str) if sandboxed code, as root's unprivileged stand-in, could not import
    modules that are not loaded yet; None when all is well. Forks a probe."""
    if os.getuid() != 0:
        return None
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            libc = _libc()
            if libc.unshare(CLONE_NEWNS) == 0:
                expose_interpreter(libc, SANDBOX_UID_BASE + slot, SANDBOX_GID)
            os.setgid(SANDBOX_GID)
            os.setuid(SANDBOX_UID_BASE + slot)
            code = 0 if os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK) else 1
        finally:
            os._exit(code)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0:
        return None
    return (
        f"d2lcnn grade: warning: Python's files ({os.path.dirname(os.__file__)}) are not readable "
        "by the sandbox's unprivileged user and no mount namespace is allowed here, so a submission "
        "that imports a module not loaded yet will fail. Install Python in a world-readable place, "
        "or allow CAP_SYS_ADMIN."
    )


def lock_down(slot, scratch, limits, hidden=()):
    """Limits, no network, unprivileged uid, scratch folder. Must run before student code.

    ``hidden``: folders the student's code must not see (the results folder,
    the submissions); covered when a private mount namespace is available.
    """
    libc = _libc()
    os.setsid()  # own process group: the worker kills it whole
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/status") as f:  # what torch already maps, plus the budget
        mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    memory = mapped + limits["extra_as_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize_bytes"], limits["fsize_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file is an OSError, not a kill
    if os.getuid() == 0:
        uid = SANDBOX_UID_BASE + slot
        flags = CLONE_NEWNET | CLONE_NEWNS
        if libc.unshare(flags) != 0 and libc.unshare(CLONE_NEWNET) != 0:
            pass  # not permitted here (a container without CAP_SYS_ADMIN): best effort
        else:
            try:
                expose_interpreter(libc, uid, SANDBOX_GID)
                keep = [
                    os.path.realpath(p)
                    for p in (
                        scratch,
                        sys.base_prefix,
                        sys.prefix,
                        *sys.path,
                        os.path.dirname(os.path.dirname(__file__)),
                    )
                    if p
                ]
                hide(libc, hidden, keep)
            except OSError:
                pass  # pre-imported modules still work; later imports may not
        os.setgroups([])
        os.setgid(SANDBOX_GID)
        os.setuid(uid)  # from here on RLIMIT_NPROC applies and the grader's files are out of reach
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(scratch)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.clear()  # the grader's environment may hold tokens
    os.environ.update(
        PATH=path,
        HOME=scratch,
        TMPDIR=scratch,
        LANG="C.UTF-8",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    torch.set_num_threads(1)


# ---- tripwires ------------------------------------------------------------------

_TRIP_CACHE = {}


def tripwire_targets(patterns):
    """``[(module name, attribute, qualified name)]`` to replace; computed once per worker.

    Pure introspection (no tensor op), so it is safe in the worker before forking.
    """
    if patterns in _TRIP_CACHE:
        return _TRIP_CACHE[patterns]
    targets = []
    for modname in TRIPWIRE_MODULES:
        module = sys.modules.get(modname)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            qual = f"{modname}.{attr}"
            hits = [p for p in patterns if fnmatchcase(qual, p)]
            if not hits or not callable(value) or isinstance(value, types.ModuleType):
                continue
            # "module.*" means what that module defines, not what it imported (torch, Tensor...)
            if (
                all(p.endswith(".*") for p in hits)
                and getattr(value, "__module__", None) != modname
            ):
                continue
            targets.append((modname, attr, qual))
    aten = [
        n.split("::", 1)[1].split(".")[0]
        for n in torch._C._dispatch_get_all_op_names()
        if n.startswith("aten::")
    ]
    for op in sorted(set(aten)):
        if any(fnmatchcase(f"torch.ops.aten.{op}", p) for p in patterns):
            targets.append(("torch.ops.aten", op, f"torch.ops.aten.{op}"))
    _TRIP_CACHE[patterns] = targets
    return targets


class Tripwires:
    """Replace forbidden callables with functions that report and raise."""

    def __init__(self, exercise, result_fd):
        self.exercise, self.fd = exercise, result_fd
        self.originals = {}  # id(original) -> tripwire
        self.done = set()

    def make(self, qual):
        exercise, fd = self.exercise, self.fd

        def tripwire(*args, **kwargs):
            _send(fd, {"forbidden": qual})
            raise ForbiddenCall(f"{qual} may not be used in {exercise}")

        tripwire.__name__ = tripwire.__qualname__ = qual.rsplit(".", 1)[-1]
        return tripwire

    def replace(self, owner, attr, qual):
        original = getattr(owner, attr, None)
        if original is None:
            return
        trip = self.originals.get(id(original)) or self.make(qual)
        if isinstance(original, type):  # nn.Conv2d and friends: trip on construction and on call
            for method in ("__init__", "forward"):
                if method in vars(original):
                    setattr(original, method, trip)
        else:
            try:
                setattr(owner, attr, trip)
            except (AttributeError, TypeError):
                return
        self.originals[id(original)] = trip

    def install(self, patterns, references):
        """Trip every forbidden function of the known modules, and the course's own answers."""
        for modname, attr, qual in tripwire_targets(patterns):
            if (modname, attr) in self.done:
                continue
            self.done.add((modname, attr))
            if modname == "torch.ops.aten":  # set without reading: building the op packet is slow
                setattr(torch.ops.aten, attr, self.make(qual))
            elif sys.modules.get(modname) is not None:
                self.replace(sys.modules[modname], attr, qual)
        reference_ids = {id(r) for r in references}
        for modname, module in list(sys.modules.items()):
            if modname == "d2lcnn" or modname.startswith("d2lcnn."):
                for attr, value in list(vars(module).items()):
                    if id(value) in reference_ids and callable(value):
                        self.replace(module, attr, f"{modname}.{attr}")

    def rewire(self, namespace):
        """After the student's imports ran: trip their aliases of originals too."""
        for key, value in list(namespace.items()):
            trip = self.originals.get(id(value))
            if trip is not None and not isinstance(value, type):
                namespace[key] = trip

    def is_trip(self, value):
        return any(value is t for t in self.originals.values())


# ---- the run --------------------------------------------------------------------


def run(job, result_fd, output_fd, slot, scratch):
    """Child main: lock down, load the definitions, call every case, report; never returns."""
    from .registry import load_all

    devnull = os.open(os.devnull, os.O_RDWR)
    _dup2(devnull, 0)
    _dup2(output_fd, 1)
    _dup2(output_fd, 2)
    keep = sorted({result_fd, devnull})
    os.closerange(3, keep[0])
    os.closerange(keep[0] + 1, keep[1])
    os.closerange(keep[1] + 1, 1 << 16)
    sys.stdout = open(1, "w", buffering=1, errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, errors="replace", closefd=False)
    sys.stdin = open(0, closefd=False)
    exercise = load_all()[job["exercise"]]
    cases = exercise.cases(job["seed"])  # before any student code
    n_public = len(exercise.public_cases)
    lock_down(slot, scratch, job["limits"], job.get("hidden", ()))

    name = exercise.name
    student_files = {chunk["filename"] for chunk in job["chunks"]}
    references = [exercise.reference]
    import d2lcnn

    if callable(getattr(d2lcnn, name, None)):
        references.append(getattr(d2lcnn, name))
    wires = Tripwires(name, result_fd)
    wires.install(tuple(exercise.forbidden), references)
    grader_trip = wires.originals.setdefault(
        id(exercise.reference), wires.make(f"the grader's {name}")
    )
    object.__setattr__(exercise, "reference", grader_trip)  # d2lcnn.check() would call it
    _send(result_fd, {"cases": len(cases)})

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    for chunk in job["chunks"]:
        tree = ast.parse(chunk["text"], chunk["filename"])
        for i in chunk["keep"]:
            try:
                exec(compile(ast.Module([tree.body[i]], []), chunk["filename"], "exec"), namespace)
            except _BaseException as e:
                _send(result_fd, {"load_error": describe(e, student_files)})
    wires.install(tuple(exercise.forbidden), references)  # modules the student imported (scipy...)
    wires.rewire(namespace)
    fn = namespace.get(name)
    if fn is None:
        _send(result_fd, {"missing": True})
        _exit(0)
    if wires.is_trip(fn):
        _send(result_fd, {"forbidden": f"{name} is the course's own {name}"})
        _exit(0)
    if not callable(fn):
        _send(result_fd, {"not_callable": _type(fn).__name__[:80]})
        _exit(0)
    for i, case in enumerate(cases):
        if i == n_public:  # hidden cases: what they print is not shown, so their inputs stay hidden
            _flush()
            _dup2(devnull, 1)
            _dup2(devnull, 2)
            os.closerange(3, keep[0])  # copies of the output pipe the student's code may have made
            os.closerange(keep[0] + 1, keep[1])
            os.closerange(keep[1] + 1, 1 << 16)
        try:
            message = {"case": i, "value": encode(case.call(fn))}
        except _BaseException as e:
            message = {"case": i, "error": describe(e, student_files)}
        _send(result_fd, message)
        _flush()
    _send(result_fd, {"done": True})
    _exit(0)


def _flush():
    try:
        sys.stdout.flush(), sys.stderr.flush()
    except _BaseException:
        pass  # the student's code replaced or closed them
