"""The ``d2lcnn`` command: build, check, execute, data, grade, and the student workspace (lab)."""

import argparse
import sys
from pathlib import Path


def find_root(start: str | Path | None = None, solutions: bool = False) -> Path:
    """The course's root: the nearest folder above ``start`` with ``pyproject.toml`` and
    ``solutions/`` (the repository) or, unless ``solutions``, ``notebooks/`` (a student release)."""
    here = Path(start or Path.cwd()).resolve()
    wanted = ("solutions",) if solutions else ("solutions", "notebooks")
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and any((folder / w).is_dir() for w in wanted):
            return folder
    raise SystemExit(
        f"d2lcnn: no course {'repository' if solutions else 'folder'} here (no "
        f"{' or '.join(w + '/' for w in wanted)} and pyproject.toml in this folder or above); "
        f"run it from the {'repository' if solutions else 'course folder'}."
    )


def cmd_build(args: argparse.Namespace) -> int:
    from . import build

    root = find_root(args.root, solutions=True)
    try:
        if args.check:
            problems = build.drift(root)
            for p in problems:
                print(f"out of sync: {p}", file=sys.stderr)
            if problems:
                print("Run `d2lcnn build` and commit the result.", file=sys.stderr)
                return 1
            print("d2lcnn build --check: generated files are in sync with solutions/")
            return 0
        changed = build.build(root)
    except build.BuildError as e:
        print(f"d2lcnn build: {e}", file=sys.stderr)
        return 1
    for path in changed:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(changed)} file(s) changed")
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    """Run solution notebooks in place (outputs stored), then rebuild."""
    import nbformat
    from nbclient import NotebookClient

    for name in args.notebooks:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        print(f"executing {path} ...", flush=True)
        NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        nbformat.write(nb, path)
    return cmd_build(argparse.Namespace(root=args.root, check=False))


def cmd_data(args: argparse.Namespace) -> int:
    from . import data

    try:
        found = data.find_fashion_mnist(download=not args.no_download)
        for name, (path, origin) in found.items():
            data._verified_bytes(path, name)
            print(f"ok  {name:26s} {path}  ({origin})")
        (train_X, _), (test_X, _) = data.load_split(True), data.load_split(False)
    except data.DataError as e:
        print(f"d2lcnn data: {e}", file=sys.stderr)
        return 1
    print(
        f"Fashion-MNIST verified: {len(train_X)} training and {len(test_X)} test images "
        f"of {tuple(train_X.shape[1:])} pixels"
    )
    return 0


def cmd_workspace(args: argparse.Namespace) -> int:
    from . import workspace

    root = find_root(args.root)
    folder = Path(args.dir) if args.dir else root / "workspace"
    return workspace.main(root, folder, args.lab_args if args.command == "lab" else None)


def cmd_grade(args: argparse.Namespace) -> int:
    from .grading.cli import grade_command

    return grade_command(args)


def cmd_report(args: argparse.Namespace) -> int:
    from .grading.report import ReportError, write_report

    try:
        _, summary = write_report(args.grades, args.compare, args.html)
    except ReportError as e:
        print(f"d2lcnn report: {e}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from .grading.gradescope import GradescopeError, build

    try:
        path = build(args.assignment, args.seed_file, args.out, args.timeout)
    except GradescopeError as e:
        print(f"d2lcnn gradescope: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {path}: upload it as the assignment's autograder on Gradescope "
        "(it holds the secret seed: keep it private)"
    )
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from .release import ReleaseError, release

    root = find_root(args.root, solutions=True)
    try:
        made = release(root, args.out)
    except ReleaseError as e:
        print(f"d2lcnn release: {e}", file=sys.stderr)
        return 1
    print(
        f"wrote {len(made.files)} files to {made.folder}: no solution text found "
        f"({made.checked_lines} solution lines searched for); stand-ins for the graded answers "
        f"the package saves: {', '.join(made.stand_ins) or 'none'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="d2lcnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="regenerate modules and student notebooks from solutions/")
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 and name each generated file that is out of sync",
    )
    p.add_argument("--root", help="repository root (default: found from the current folder)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("execute", help="run solution notebooks in place, store outputs, rebuild")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    p.add_argument("--root")
    p.set_defaults(func=cmd_execute)

    p = sub.add_parser("data", help="locate, verify (and if needed download) Fashion-MNIST")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser(
        "grade",
        help="grade student submissions in a sandbox (see the Grading section of README.md)",
    )
    from .grading.cli import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser(
        "report",
        help="write the class report (HTML, figures inline) of a grades folder",
        description="Write GRADES_DIR/report.html: scores, outcomes per exercise, pass rate per "
        "case, diagnosed mistakes, submissions to look at, similarity flags; print a summary.",
    )
    p.add_argument("grades", metavar="GRADES_DIR", help="the --out folder of `d2lcnn grade`")
    p.add_argument(
        "--compare",
        metavar="OTHER_DIR",
        help="an earlier grading run of the same assignment: show what changed since",
    )
    p.add_argument(
        "--html", metavar="FILE", help="write the page here (default GRADES_DIR/report.html)"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "gradescope",
        help="build a Gradescope autograder zip for one assignment",
        description="Write the autograder zip Gradescope expects (setup.sh, run_autograder, "
        "pinned requirements, the course package) for one chapter's assignment.",
    )
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the chapter, e.g. 02_conv_layer")
    p.add_argument(
        "--seed-file",
        required=True,
        metavar="F",
        help="a file holding the secret seed of the hidden cases (one integer)",
    )
    p.add_argument("--out", default="autograder.zip", metavar="ZIP", help="default autograder.zip")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="SEC", help="per exercise (default 10)"
    )
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser(
        "release",
        help="write the student release (notebooks, package, README, environment) into OUT_DIR",
        description="Write what students get into OUT_DIR: the student notebooks, the package "
        "(graded answers replaced by stand-ins), a README for students and the environment "
        "files; no solutions/, no seed. Refuses if any solution text would ship.",
    )
    p.add_argument("out", metavar="OUT_DIR", help="a new or empty folder")
    p.add_argument("--root", help="repository root (default: found from the current folder)")
    p.set_defaults(func=cmd_release)

    for name, what in (
        ("workspace", "copy new course notebooks into the workspace, keeping yours"),
        (
            "lab",
            "sync the workspace, then open JupyterLab on it (other arguments go to JupyterLab)",
        ),
    ):
        p = sub.add_parser(name, help=what, allow_abbrev=False)
        p.add_argument("--root", help="repository root (default: found from the current folder)")
        p.add_argument("--dir", help="the workspace folder (default: workspace/ in the repository)")
        p.set_defaults(func=cmd_workspace, lab_args=[])

    args, extra = parser.parse_known_args(argv)
    if args.command == "lab":
        args.lab_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
