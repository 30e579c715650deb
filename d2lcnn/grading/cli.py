"""``d2lcnn grade PATH... --out DIR``: the instructor's command (see the Grading section of README.md).

Exit status: 0 when grading ran, whatever the scores; 1 when some files could
not be read (the others are graded, the unreadable ones are listed at the
end); 2 for usage errors (nothing is graded); 3 when a grading worker could
not start (the environment is broken; what was graded is kept); 4 when a
submission broke the grader (a grader bug: that submission is graded
``error`` with the failure named, the others are graded; it is listed at the
end). 4 wins over 1.
"""

import argparse
import sys

from .pool import WorkerFailed
from .progress import Progress
from .runner import UsageError, grade


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Grade student notebooks (.ipynb) or Python files (.py): each exercise "
        "function runs in a sandboxed process on public and hidden cases."
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="submissions: .ipynb or .py files, or folders of them",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results folder: one JSON per submission (Gradescope format) and gradebook.csv",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, metavar="N", help="parallel workers (default 2)"
    )
    parser.add_argument(
        "--seed-file",
        metavar="FILE",
        help="file holding the secret the hidden cases are drawn from (or set D2LCNN_SEED; "
        "default: a secret one stored in DIR)",
    )
    parser.add_argument("--seed", help=argparse.SUPPRESS)  # removed: refused with a reason
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SEC",
        help="wall-clock limit per exercise of a submission (default 10)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="regrade submissions whose results are already up to date",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="do not write the class report (DIR/report.html) at the end",
    )
    parser.add_argument(
        "--exercises",
        metavar="A,B",
        help="grade only these exercises, e.g. corr2d,pool2d (default: the submission's)",
    )
    parser.add_argument(
        "--assignment",
        metavar="CHAPTER",
        help="grade every exercise of this chapter, e.g. 02_conv_layer, on submissions that do "
        "not record theirs (.py files; notebooks record it)",
    )
    parser.add_argument(
        "--trusted-code",
        action="store_true",
        help="run the submissions without the sandbox's namespaces (limits only): for code "
        "you trust, on a machine that allows no namespace",
    )


def grade_command(args: argparse.Namespace) -> int:
    """``d2lcnn grade``: grade, report, and return the exit status."""
    if args.seed is not None:
        print(
            "d2lcnn grade: --seed is no longer accepted: a secret on the command line can be read "
            "by any process (/proc/PID/cmdline). Put it in a file (--seed-file FILE) or in the "
            "D2LCNN_SEED environment variable.",
            file=sys.stderr,
        )
        return 2
    chosen = [n.strip() for n in args.exercises.split(",") if n.strip()] if args.exercises else None
    try:
        with Progress() as progress:
            batch = grade(
                args.paths,
                args.out,
                jobs=args.jobs,
                seed_file=args.seed_file,
                timeout=args.timeout,
                force=args.force,
                exercises=chosen,
                assignment=args.assignment,
                log=progress.log,
                progress=progress,
                trusted_code=args.trusted_code,
            )
    except UsageError as e:
        for line in str(e).splitlines():
            print(f"d2lcnn grade: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"d2lcnn grade: interrupted; results so far are in {args.out}, run the command again "
            "to resume",
            file=sys.stderr,
        )
        return 130
    except WorkerFailed as e:
        print(
            f"d2lcnn grade: {e}; results so far are in {args.out}, run the command again to resume",
            file=sys.stderr,
        )
        return 3
    print(
        f"{len(batch.graded)} graded, {len(batch.skipped)} already up to date"
        f"{' (use --force to regrade)' if batch.skipped else ''}, {len(batch.unreadable)} unreadable "
        f"in {batch.seconds:.1f} s; results and gradebook.csv in {args.out}"
    )
    for problem in batch.unreadable:
        print(f"d2lcnn grade: not graded: {problem}", file=sys.stderr)
    for link in batch.links:
        print(f"d2lcnn grade: skipped {link}: a symbolic link (never followed)", file=sys.stderr)
    for failure in batch.broke:
        print(
            f"d2lcnn grade: the grader failed on {failure}; graded error (please report it)",
            file=sys.stderr,
        )
    if not args.no_report:
        write_class_report(args.out)
    return 4 if batch.broke else 1 if batch.unreadable else 0


def write_class_report(out: str) -> None:
    """``out/report.html``; a failure is reported and changes nothing else (the grades are written)."""
    from .report import write_report

    try:
        path, _ = write_report(out)
    except Exception as e:  # noqa: BLE001 - the report is an extra: it never costs a grade
        print(
            f"d2lcnn grade: the class report was not written ({type(e).__name__}: {e}); "
            f"try `d2lcnn report {out}`",
            file=sys.stderr,
        )
        return
    print(f"class report: {path} (`d2lcnn report {out}` prints a summary)")
