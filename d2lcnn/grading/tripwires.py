"""Tripwires: the exercise's forbidden functions, replaced in the child by functions that report.

Before student code runs, every forbidden callable of the known modules (and
the course's own answer to the exercise) is replaced by a tripwire; a call
writes a :class:`~d2lcnn.grading.protocol.Forbidden` message on the result
pipe at once and raises :class:`ForbiddenCall`. The static check (forbidden.py)
finds most uses before the child starts; tripwires catch what it cannot see.
"""

import fnmatch
import functools
import gc
import re
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .protocol import Forbidden, Message

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
    # where the libraries define what their public names alias, down to compiled functions:
    # a student who imports these private modules by a name built at run time finds tripwires
    "scipy.signal._signaltools",
    "scipy.signal._sigtools",
    "scipy.ndimage._filters",
    "scipy.ndimage._nd_image",
    "numpy._core.multiarray",
    "numpy._core._multiarray_umath",
    "numpy._core.umath",
    "numpy._core.numeric",
    "numpy.ma.core",
)
LIBRARIES = ("scipy.", "numpy.")  # not torch: its forbidden kernels are blocked at the dispatcher

Target = tuple[str, str, str]  # (module name, attribute, qualified name)


def _kind(value: object) -> tuple[object, ...]:
    """What an object is beside its address: its type, module and qualified name."""
    try:
        return (
            type(value),
            getattr(value, "__module__", None),
            getattr(value, "__qualname__", None),
        )
    except Exception:  # noqa: BLE001  (a student's object whose attributes raise: not an original)
        return (type(value),)


class ForbiddenCall(Exception):
    """Raised by a tripwire: the exercise called a function it may not use."""


_fire_to: list[Callable[[Message], None]] = []  # the child's result pipe, for fire()


def fire(qual: str) -> None:
    """What a neutralized function does: report ``qual`` and raise :class:`ForbiddenCall`."""
    for send in _fire_to:
        send(Forbidden(qual))
    raise ForbiddenCall(f"{qual} may not be used here")


@functools.cache
def _trip_code(qual: str) -> types.CodeType:
    source = (
        "def tripwire(*args, **kwargs):\n"
        f"    from d2lcnn.grading.tripwires import fire\n    fire({qual!r})\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<tripwire>", "exec"), namespace)
    return namespace["tripwire"].__code__


_TRIP_CACHE: dict[tuple[str, ...], list[Target]] = {}


def tripwire_targets(patterns: tuple[str, ...]) -> list[Target]:
    """``[(module name, attribute, qualified name)]`` to replace; computed once per worker.

    Pure introspection (no tensor op), so it is safe in the worker before forking.
    """
    if patterns in _TRIP_CACHE:
        return _TRIP_CACHE[patterns]
    # one regular expression for all the patterns first: most names match none (0.6 s less)
    any_pattern = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")
    targets = []
    for modname in TRIPWIRE_MODULES:
        module = sys.modules.get(modname)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            qual = f"{modname}.{attr}"
            if not any_pattern.match(qual):
                continue
            hits = [p for p in patterns if fnmatch.fnmatchcase(qual, p)]
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
        if any_pattern.match(f"torch.ops.aten.{op}"):
            targets.append(("torch.ops.aten", op, f"torch.ops.aten.{op}"))
    _TRIP_CACHE[patterns] = targets
    _find_holders([getattr(sys.modules[m], a) for m, a, q in targets if q.startswith(LIBRARIES)])
    return targets


# id(a compiled library function) -> every dict that holds it: the modules' and the copy CPython
# keeps of an extension module's dict, which gc.get_objects() reaches
_HOLDERS: dict[int, list[dict]] = {}


def _find_holders(functions: list[object]) -> None:
    """Find, once per worker (before gc.freeze() hides the heap), the dicts that hold each
    compiled function of ``functions``, so a child can trip it in all of them."""
    want = {id(f) for f in functions if isinstance(f, types.BuiltinFunctionType)} - set(_HOLDERS)
    if not want:
        return
    found: dict[int, list[dict]] = {i: [] for i in want}
    for obj in gc.get_objects():
        if type(obj) is dict:
            for value in list(obj.values()):
                if id(value) in found:
                    found[id(value)].append(obj)
    _HOLDERS.update(found)


# references' ids -> ((module name, attribute) holding one, {module name: module scanned})
_SITES: dict[frozenset[int], tuple[list[tuple[str, str]], dict[str, types.ModuleType]]] = {}


def _course_modules() -> list[tuple[str, types.ModuleType]]:
    return [
        (name, module)
        for name, module in list(sys.modules.items())
        if (name == "d2lcnn" or name.startswith("d2lcnn.")) and module is not None
    ]


def _sites_in(
    modules: list[tuple[str, types.ModuleType]], ids: frozenset[int]
) -> list[tuple[str, str]]:
    return [
        (name, attr)
        for name, module in modules
        for attr, value in list(vars(module).items())
        if id(value) in ids and callable(value)
    ]


def reference_sites(
    references: Iterable[object],
) -> tuple[list[tuple[str, str]], dict[str, types.ModuleType]]:
    """Where the course's modules hold one of ``references``: ``([(module, attribute)], {name:
    module scanned})``; computed once per worker for each set (pure introspection, so safe
    in the worker before forking), the child then scans only modules loaded since."""
    ids = frozenset(id(r) for r in references)
    if ids not in _SITES:
        modules = _course_modules()
        _SITES[ids] = (_sites_in(modules, ids), dict(modules))
    return _SITES[ids]


class Tripwires:
    """Replace forbidden callables with functions that report and raise.

    Args:
        exercise: the exercise's name, for the exception's message.
        send: writes a message on the result pipe.
    """

    def __init__(self, exercise: str, send: Callable[[Message], None]) -> None:
        self.exercise, self.send = exercise, send
        self.originals: dict[int, Callable[..., Any]] = {}  # id(original) -> tripwire
        # id(original) -> what it was: a replaced original may be freed, and an object of the
        # student's made later at its address (their own batch_norm) must not be taken for it
        self.kinds: dict[int, tuple[object, ...]] = {}
        self.done: set[tuple[str, str]] = set()
        self.patterns: tuple[str, ...] = ()
        self.references: list[object] = []
        # course modules whose references are tripped
        self.scanned: dict[str, types.ModuleType] = {}

    def make(self, qual: str) -> Callable[..., Any]:
        """A tripwire standing for ``qual``."""
        exercise, send = self.exercise, self.send

        def tripwire(*args: object, **kwargs: object) -> None:
            send(Forbidden(qual))
            raise ForbiddenCall(f"{qual} may not be used in {exercise}")

        tripwire.__name__ = tripwire.__qualname__ = qual.rsplit(".", 1)[-1]
        return tripwire

    def replace(self, owner: object, attr: str, qual: str) -> None:
        """Put a tripwire in place of ``owner.attr`` (a class: its ``__init__`` and ``forward``)."""
        original = getattr(owner, attr, None)
        if original is None:
            return
        trip = self.trip_of(original) or self.make(qual)
        if isinstance(original, type):  # nn.Conv2d and friends: trip on construction and on call
            for method in ("__init__", "forward"):
                if method in vars(original):
                    setattr(original, method, trip)
        else:
            try:
                setattr(owner, attr, trip)
            except (AttributeError, TypeError):
                return
        self._remember(original, trip)

    def standing_for(self, original: object, qual: str) -> Callable[..., Any]:
        """The tripwire that stands for ``original``, made now if none does yet."""
        trip = self.trip_of(original) or self.make(qual)
        self._remember(original, trip)
        return trip

    def _remember(self, original: object, trip: Callable[..., Any]) -> None:
        self.originals[id(original)], self.kinds[id(original)] = trip, _kind(original)

    def trip_of(self, value: object) -> Callable[..., Any] | None:
        """The tripwire that stands for ``value`` if it is a replaced original, else None."""
        trip = self.originals.get(id(value))
        return trip if trip is not None and self.kinds.get(id(value)) == _kind(value) else None

    def install(self, patterns: tuple[str, ...], references: Iterable[object]) -> None:
        """Trip every forbidden function of the known modules, and the course's own answers.

        Call it again (``install(wires.patterns, wires.references)``) after the
        student's imports: modules loaded since then get their tripwires too.
        """
        self.patterns, self.references = patterns, list(references)
        for modname, attr, qual in tripwire_targets(patterns):
            if (modname, attr) in self.done:
                continue
            self.done.add((modname, attr))
            if modname == "torch.ops.aten":  # set without reading: building the op packet is slow
                setattr(torch.ops.aten, attr, self.make(qual))
            elif sys.modules.get(modname) is not None:
                original = getattr(sys.modules[modname], attr, None)
                self.replace(sys.modules[modname], attr, qual)
                if qual.startswith(LIBRARIES):
                    self.trip_everywhere(original, qual)
        sites: list[tuple[str, str]] = []
        if not self.scanned:  # before student code: where the worker found them
            sites, scanned = reference_sites(self.references)
            self.scanned = dict(scanned)
        new = [(n, m) for n, m in _course_modules() if self.scanned.get(n) is not m]
        sites += _sites_in(new, frozenset(id(r) for r in self.references))
        self.scanned.update(new)
        for modname, attr in sites:
            self.replace(sys.modules[modname], attr, f"{modname}.{attr}")

    def trip_everywhere(self, original: object, qual: str) -> None:
        """A library's forbidden function, tripped under every name: a Python function by its
        code, a compiled one in every dict that holds it (so an alias, a private module or a
        search of ``gc.get_objects()`` finds a tripwire)."""
        if isinstance(original, types.FunctionType):
            self.neutralize(original, qual)
            return
        trip = self.trip_of(original)
        if trip is None:
            return  # it could not be replaced
        for holder in _HOLDERS.get(id(original), ()):
            for key, value in list(holder.items()):
                if value is original:
                    holder[key] = trip

    def rewire(self, namespace: dict[str, Any]) -> None:
        """After the student's imports ran: trip their aliases of originals too."""
        for key, value in list(namespace.items()):
            trip = self.trip_of(value)
            if trip is not None and not isinstance(value, type):
                namespace[key] = trip

    def neutralize(self, value: object, qual: str) -> None:
        """Replace the code of function ``value`` (of each method, for a class) by a tripwire's,
        so the original is gone even through references the student may find (frames, gc)."""
        functions = [value] if isinstance(value, types.FunctionType) else []
        if isinstance(value, type):
            functions = [f for f in vars(value).values() if isinstance(f, types.FunctionType)]
        for fn in functions:
            if not fn.__code__.co_freevars:  # a closure's code cannot be swapped; none here
                fn.__code__ = _trip_code(qual)
        _fire_to[:] = [self.send]

    def is_trip(self, value: object) -> bool:
        """Whether ``value`` is one of these tripwires."""
        return any(value is t for t in self.originals.values())
