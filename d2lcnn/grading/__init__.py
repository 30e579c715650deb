"""Grading: the exercise registry, the students' self-check, and the sandboxed grader."""
from .check import check
from .registry import CONV_POOL_FORBIDDEN, EXERCISES, Case, Exercise, load_all, register

__all__ = ["check"]
