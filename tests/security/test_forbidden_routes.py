"""Forbidden means forbidden whatever the route: the kernels are blocked at torch's dispatcher,
every course function that answers the exercise or a sibling counts as the course's answer, and
no original of the course or the grader is reachable (frames, gc, source)."""

import types

import pytest

from d2lcnn.grading import load_all
from d2lcnn.grading.forbidden import course_answers
from d2lcnn.grading.tripwires import Tripwires

from .conftest import assert_honest_graded_in_full, statuses

ROUTES = ("corr2d", "pool2d", "corr2d_multi_in", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1")


def test_dispatcher_routes_are_forbidden(security_batch):
    record = security_batch[1]["forbidden_routes.py"]
    got = {n: s for n, s in statuses(record).items() if n in ROUTES}
    assert got == dict.fromkeys(ROUTES, "forbidden"), {
        n: e["feedback"] for n, e in record["exercises"].items()
    }
    assert record["score"] == 0


def test_normalization_routes_are_forbidden(security_batch):
    """torch's own batch norm through `_VariableFunctionsClass` and `_jit_get_operation`
    (BatchNorm scored full marks so): blocked at the dispatcher in the batch-norm exercises."""
    record = security_batch[1]["forbidden_norm_routes.py"]
    got = {n: s for n, s in statuses(record).items() if n in ("batch_norm", "BatchNorm")}
    assert got == {"batch_norm": "forbidden", "BatchNorm": "forbidden"}, {
        n: e["feedback"] for n, e in record["exercises"].items()
    }


def test_library_routes_are_forbidden(security_batch):
    """scipy's and numpy's convolutions from their private modules, their compiled functions,
    and the originals a gc search finds: each trips, under whatever name it was reached."""
    record = security_batch[1]["forbidden_library_routes.py"]
    library = ("corr2d", "conv2d_true", "pool2d", "corr2d_multi_in", "corr2d_multi_in_out")
    got = {n: s for n, s in statuses(record).items() if n in library}
    assert got == dict.fromkeys(library, "forbidden"), {
        n: e["feedback"] for n, e in record["exercises"].items()
    }
    feedback = record["exercises"]["conv2d_true"]["feedback"]
    assert "It uses scipy.signal._sigtools._convolve2d" in feedback


@pytest.mark.parametrize(
    "name, what",
    [("corr2d", "d2lcnn.corr2d_vec"), ("conv2d_true", "d2lcnn"), ("pool2d", "d2lcnn")],
)
def test_course_answers_of_siblings_are_forbidden(security_batch, name, what):
    e = security_batch[1]["forbidden_course.py"]["exercises"][name]
    assert e["status"] == "forbidden" and e["score"] == 0, e["feedback"]
    assert "course package's own answer" in e["feedback"] and what in e["feedback"]


@pytest.mark.parametrize("name", ["forbidden_frames.py", "forbidden_source.py"])
def test_no_original_is_reachable(security_batch, name):
    e = security_batch[1][name]["exercises"]["corr2d"]
    assert e["score"] == 0, e["feedback"]


def test_legitimate_maths_and_listed_helpers_stay_allowed(security_batch):
    assert_honest_graded_in_full(security_batch[1])
    got = statuses(security_batch[1]["honest_maths.py"])
    for name in ("corr2d", "conv2d_true", "pool2d", "corr2d_multi_in"):
        assert got[name] == "passed", name


def test_course_answers_are_listed_per_exercise():
    registry = load_all()
    assert "corr2d_vec" in course_answers(registry["corr2d"])
    assert "corr2d" in course_answers(registry["conv2d_true"])
    assert "pool2d_pad_stride" in course_answers(registry["pool2d"])
    assert "corr2d" not in course_answers(registry["corr2d_multi_in"])  # the book builds on it
    assert (
        "You may call the course's d2lcnn.corr2d." in registry["corr2d_multi_in"].helpers_sentence()
    )


def test_check_names_the_helpers(capsys):
    import d2lcnn

    def corr2d_multi_in(X, K):
        return d2lcnn.corr2d_multi_in_out(X, K[None])[0]

    d2lcnn.check("corr2d_multi_in", corr2d_multi_in)
    out = capsys.readouterr().out
    assert "d2lcnn.corr2d_multi_in_out" in out and "You may call the course's d2lcnn.corr2d." in out


def _module_with_batch_norm():
    owner = types.ModuleType("torch_like")
    exec("def batch_norm(X):\n    return X", owner.__dict__)
    return owner


def test_an_alias_of_a_replaced_original_is_tripped():
    owner = _module_with_batch_norm()
    namespace = {"bn": owner.batch_norm}  # the student's alias, taken before the tripwires
    wires = Tripwires("BatchNorm", lambda message: None)
    wires.replace(owner, "batch_norm", "torch_like.batch_norm")
    wires.rewire(namespace)
    assert wires.is_trip(namespace["bn"])


def test_the_students_function_at_a_freed_originals_address_is_their_own():
    """A replaced original can be freed, and the student's own `batch_norm` made later at its
    address (an honest BatchNorm once graded forbidden so): the address alone trips nothing."""
    wires = Tripwires("BatchNorm", lambda message: None)
    wires.replace(_module_with_batch_norm(), "batch_norm", "torch_like.batch_norm")  # freed

    def batch_norm(X):
        return X + 1

    (freed,) = wires.originals  # as if batch_norm had been made where the original was:
    wires.originals[id(batch_norm)] = wires.originals.pop(freed)
    wires.kinds[id(batch_norm)] = wires.kinds.pop(freed)
    namespace = {"batch_norm": batch_norm}
    wires.rewire(namespace)
    assert namespace["batch_norm"] is batch_norm
