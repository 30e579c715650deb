"""Which exercises a submission is graded on: every exercise of its assignment.

An assignment is a chapter (``02_conv_layer``): its exercises are those its
solution notebook poses. A notebook records it (``metadata.d2lcnn.generated_from``);
for a ``.py`` file, or a notebook without it, the instructor names it
(``--assignment``) or lists exercises (``--exercises``). Without either, a
submission is graded on every exercise of each chapter it touches, with a
warning. An exercise of the assignment that the submission does not mention
scores 0 as ``missing``, so ``max_score`` is the same for every submission of
one assignment.
"""

import ast
import os
from dataclasses import dataclass
from pathlib import PurePath

from .extract import Submission
from .registry import Exercise


class UnknownAssignment(ValueError):
    """An ``--assignment`` that names no chapter."""


def chapter(exercise: Exercise) -> str:
    """The assignment an exercise belongs to: its notebook's stem, e.g. ``"02_conv_layer"``."""
    return PurePath(exercise.notebook).stem


def of_assignment(registry: dict[str, Exercise], name: str) -> list[Exercise]:
    """The exercises of assignment ``name`` (``02_conv_layer``, or a notebook's path), in order.

    Raises:
        UnknownAssignment: no chapter has that name; the message lists the known ones.

    Example::

        >>> from d2lcnn.grading.registry import load_all
        >>> [e.name for e in of_assignment(load_all(), "02_conv_layer")]
        ['corr2d', 'conv2d_true', 'corr2d_vec']
    """
    stem = PurePath(name).stem
    found = [e for e in registry.values() if chapter(e) == stem]
    if not found:
        known = ", ".join(sorted({chapter(e) for e in registry.values()}))
        raise UnknownAssignment(f"--assignment: no chapter named {name!r}; known: {known}")
    return found


def mentioned(submission: Submission) -> set[str]:
    """Top-level names the submission binds: defined, imported, or in a cell that does not parse.

    ``"*"`` stands for a star import (it may bind any name).
    """
    names = submission.defined() | set(submission.broken_defs)
    for chunk in submission.chunks:
        for node in chunk.kept():
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@dataclass(frozen=True)
class Plan:
    """What one submission is graded on, and the warning to print when it was guessed."""

    exercises: list[Exercise]
    warning: str = ""


def plan_for(
    submission: Submission,
    registry: dict[str, Exercise],
    chosen: list[str] | None = None,
    assignment: str | None = None,
) -> Plan:
    """The exercises ``submission`` is graded on.

    ``chosen`` (``--exercises``) first, then ``assignment`` (``--assignment``),
    then the notebook's recorded chapter; otherwise every exercise of each
    chapter the submission touches (the exercises it defines; when it defines none, the
    ones it imports), with a
    warning that says how to pin the assignment.
    """
    if chosen:
        return Plan([registry[n] for n in chosen])
    if assignment:
        return Plan(of_assignment(registry, assignment))
    if submission.notebook:
        of_notebook = [e for e in registry.values() if e.notebook == submission.notebook]
        if of_notebook:
            return Plan(of_notebook)
    defined = submission.defined() | set(submission.broken_defs)
    if not submission.notebook and submission.path.suffix == ".ipynb":
        # metadata.d2lcnn deleted: the assignment is the notebook(s) whose exercises it
        # defines, or whose name its file name carries, so deleting it never lowers max_score
        notebooks = {
            e.notebook
            for e in registry.values()
            if e.name in defined or chapter(e) in submission.path.stem
        }
        if notebooks:
            return Plan([e for e in registry.values() if e.notebook in notebooks])
    # the chapters of what it defines; of what it imports only when it defines no exercise
    # (a later chapter's file may import an earlier chapter's function to build on it)
    names = defined if any(n in registry for n in defined) else mentioned(submission)
    chapters = list(dict.fromkeys(chapter(e) for e in registry.values() if e.name in names))
    if not chapters:
        return Plan([])
    exercises = [e for e in registry.values() if chapter(e) in chapters]
    first = chapters[0]
    shown = os.fsencode(submission.path.name).decode("utf-8", "replace")
    warning = (
        f"{shown}: no assignment recorded; graded on every exercise of "
        f"{', '.join(chapters)} (the chapters of the exercises it defines or, defining none, "
        "imports). "
        f"Pin it with --assignment {first} (or --exercises "
        f"{','.join(e.name for e in exercises if chapter(e) == first)})."
    )
    return Plan(exercises, warning)


def absent(submission: Submission, exercise: Exercise) -> bool:
    """Whether the submission cannot define ``exercise`` at all: no definition, no import of
    that name, no star import. Such an exercise is ``missing`` without running anything."""
    names = mentioned(submission)
    return exercise.name not in names and "*" not in names
