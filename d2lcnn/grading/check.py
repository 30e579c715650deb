"""``d2lcnn.check``: run an exercise's public cases in the notebook and report."""
from .compare import compare
from .registry import EXERCISES, load_all


def check(name, fn):
    """Run the public cases of exercise ``name`` on ``fn`` and print a report.

    This is the students' self-check: it runs in the notebook's own process
    and only on the public cases. The grader runs hidden cases as well, in a
    sandbox.

    Args:
        name: the exercise, e.g. ``"corr2d"``.
        fn: the student's function.

    Returns:
        None: the verdict is printed, so the cell shows only the report.

    Example::

        >>> import d2lcnn
        >>> d2lcnn.check("corr2d", d2lcnn.corr2d)  # doctest: +SKIP
        corr2d: 4/4 public cases passed.
    """
    exercise = load_all().get(name)
    if exercise is None:
        raise KeyError(f"no exercise named {name!r}; known: {', '.join(sorted(EXERCISES))}")
    lines, passed = [], 0
    for case in exercise.public_cases:
        try:
            got = case.call(fn)
        except NotImplementedError:
            print(f"{name}: not implemented yet. Replace `raise NotImplementedError()` "
                  "with your code, run that cell, then run this check again.")
            return
        except Exception as e:
            lines.append(f"  x {case.label}: raised {type(e).__name__}: {e}")
            continue
        ok, message = compare(case.call(exercise.reference), got,
                              exercise.rtol, exercise.atol)
        passed += ok
        lines.append(f"  {'ok' if ok else 'x '} {case.label}" + ("" if ok else f": {message}"))
    total = len(exercise.public_cases)
    verdict = "all public cases passed" if passed == total else "some public cases failed"
    print(f"{name}: {passed}/{total} public cases passed ({verdict}; "
          "the grader also runs hidden cases).")
    if passed != total:
        print("\n".join(lines))
