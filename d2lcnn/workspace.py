"""The student's workspace: their own copies of the course notebooks, which course updates never clobber.

``./course lab`` runs :func:`sync` and then opens JupyterLab on the workspace
(``workspace/`` at the repository root, ignored by git). The course's
``notebooks/`` stay untouched, so ``git pull`` never conflicts with a student's
work. ``workspace/.course-versions.json`` records, for each copy, the hash of
the course version it came from and of the file as written, so that a later
sync can tell

* a new course notebook (copied in),
* a course notebook changed upstream whose copy the student never changed
  (replaced by the new version),
* a course notebook changed upstream whose copy the student changed (kept;
  the student is told how to get the new version beside theirs).

Copies carry the kernel metadata JupyterLab would add on opening them (the
Python version included), so opening and closing a notebook changes nothing.
"""

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .build import dumps

MANIFEST = ".course-versions.json"


@dataclass
class Report:
    """What :func:`sync` did, one notebook file name per entry."""

    created: bool = False  # the workspace was made by this sync
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    newer: list[str] = field(default_factory=list)  # changed upstream and by the student: kept

    def lines(self, workspace: Path, rename_hint: str) -> list[str]:
        """The messages for the student."""
        if self.created:
            return [
                (
                    f"workspace: made {workspace} with your own copies of the {len(self.added)} course "
                    "notebooks; work there (course updates never overwrite a notebook you changed)"
                )
            ]
        out = [f"workspace: added {name}" for name in self.added]
        out += [
            f"workspace: updated {name} to the new course version (you had not changed it)"
            for name in self.updated
        ]
        for name in self.newer:
            stem = Path(name).stem
            out.append(
                f"workspace: the course has a newer {name}; your copy has your changes and is "
                f"kept. For the new version beside yours, rename yours (e.g. `mv "
                f"{workspace / name} {workspace / (stem + '-mine.ipynb')}`) and run "
                f"{rename_hint} again."
            )
        return out


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kernel_metadata() -> dict:
    """The ``kernelspec`` and ``language_info`` that JupyterLab writes for this Python's ipykernel."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {
        "kernelspec": {
            "display_name": spec.display_name,
            "language": spec.language,
            "name": "python3",
        },
        "language_info": dict(IPythonKernel.language_info),
    }


def student_copy(course_text: str, metadata: dict) -> str:
    """The workspace copy of a course notebook: its JSON with ``metadata`` merged in."""
    nb = json.loads(course_text)
    nb["metadata"].update(metadata)
    return dumps(nb)


def read_manifest(workspace: Path) -> dict:
    try:
        return json.loads((workspace / MANIFEST).read_text(encoding="utf-8"))["notebooks"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # first run, or a damaged record: every differing copy counts as the student's


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sync(course: Path, workspace: Path, metadata: dict | None = None) -> Report:
    """Bring ``workspace`` up to date with the course notebooks in ``course``, losing nothing.

    Args:
        course: the folder of course notebooks (``notebooks/``).
        workspace: the student's folder, created if missing.
        metadata: notebook metadata added to each copy (default: :func:`kernel_metadata`).

    Returns:
        A :class:`Report` of what was added, replaced, or kept although newer.

    Example::

        >>> import tempfile
        >>> tmp = Path(tempfile.mkdtemp())
        >>> _ = (tmp / "course").mkdir(), (tmp / "course" / "01_a.ipynb").write_text(
        ...     '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
        >>> sync(tmp / "course", tmp / "ws", metadata={}).added
        ['01_a.ipynb']
        >>> sync(tmp / "course", tmp / "ws", metadata={}).added
        []
    """
    metadata = kernel_metadata() if metadata is None else metadata
    report = Report(created=not workspace.exists())
    workspace.mkdir(parents=True, exist_ok=True)
    record = read_manifest(workspace)
    for path in sorted(Path(course).glob("*.ipynb")):
        course_text = path.read_text(encoding="utf-8")
        course_hash, copy = sha256(course_text), workspace / path.name
        fresh = student_copy(course_text, metadata)
        seen = record.get(path.name, {})  # {"course": hash of its source, "copy": as written}
        mine = copy.read_text(encoding="utf-8", errors="replace") if copy.exists() else None
        if mine is not None and seen.get("course") == course_hash:
            continue  # the course has not changed since this copy was made
        if mine is None:
            report.added.append(path.name)
        elif mine == fresh:
            pass  # the same as the course's version (a lost record): just record it
        elif sha256(mine) == seen.get("copy"):
            report.updated.append(path.name)
        else:
            report.newer.append(path.name)
            continue
        write_atomic(copy, fresh)
        record[path.name] = {"course": course_hash, "copy": sha256(fresh)}
    write_atomic(
        workspace / MANIFEST, json.dumps({"notebooks": record}, indent=1, sort_keys=True) + "\n"
    )
    return report


def lab_command(workspace: Path, extra: list[str]) -> list[str]:
    """The JupyterLab command line for ``workspace``: loopback only, no news or update checks.

    ``--allow-root`` is added only when running as root (a container, a cloud VM).
    """
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={workspace}",
        "--ServerApp.ip=127.0.0.1",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv + list(extra)


def lab_environment(workspace: Path) -> dict:
    """The environment for JupyterLab: one more config folder, which turns off the news plugin.

    Without it JupyterLab asks every new user whether to fetch news from the internet.
    """
    config = workspace / ".d2lcnn-jupyter"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    page = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    write_atomic(config / "labconfig" / "page_config.json", json.dumps(page, indent=1) + "\n")
    paths = [str(config)] + [
        p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p
    ]
    return dict(os.environ, JUPYTER_CONFIG_PATH=os.pathsep.join(paths))


def main(root: Path, workspace: Path, lab_args: list[str] | None) -> int:
    """Sync the workspace and print what changed; with ``lab_args`` (a list), then exec JupyterLab."""
    report = sync(root / "notebooks", workspace)
    for line in report.lines(workspace, "./course lab"):
        print(line)
    if lab_args is None:
        return 0
    argv, env = lab_command(workspace, lab_args), lab_environment(workspace)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)
    return 0  # not reached
