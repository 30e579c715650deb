"""Grading: the exercise registry, the students' self-check, and the sandboxed grader."""
from .check import check
from .status import check_all
from .registry import CONV_POOL_FORBIDDEN, EXERCISES, Case, Exercise, load_all, register

__all__ = ["check", "check_all"]
