"""Grading: the exercise registry, the students' self-check, and the sandboxed grader.

Machinery lives in this folder (registry, check, extract, forbidden, protocol,
isolation, tripwires, child, worker, pool, judge, runner); the exercises
themselves in ``exercises/``.
"""

from .check import check
from .registry import EXERCISES, Case, Exercise, load_all, register
from .status import check_all

__all__ = ["EXERCISES", "Case", "Exercise", "check", "check_all", "load_all", "register"]
