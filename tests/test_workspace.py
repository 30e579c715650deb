"""The student workspace: created on first run, course updates add and replace but never clobber."""

import json
import platform
from pathlib import Path

from d2lcnn import build, workspace
from d2lcnn.workspace import MANIFEST, sync

ROOT = Path(__file__).resolve().parents[1]


def notebook(*sources):
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"c{i}",
            "metadata": {},
            "outputs": [],
            "source": [s],
        }
        for i, s in enumerate(sources)
    ]
    return build.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def sources(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


def test_course_update_keeps_the_students_work(tmp_path):
    course, ws = tmp_path / "notebooks", tmp_path / "workspace"
    course.mkdir()
    (course / "01_a.ipynb").write_text(notebook("a = 1"))
    (course / "02_b.ipynb").write_text(notebook("b = 1"))
    first = sync(course, ws, metadata={})
    assert first.created and first.added == ["01_a.ipynb", "02_b.ipynb"]
    assert "made" in first.lines(ws, "./course lab")[0]
    assert (ws / MANIFEST).exists() and sources(ws / "01_a.ipynb") == ["a = 1"]

    # The student works in 01; 02 is opened and saved unchanged (the same bytes, as JupyterLab does).
    mine = notebook("a = 1", "my work")
    (ws / "01_a.ipynb").write_text(mine)
    # git pull: both notebooks changed upstream, a third one is new.
    (course / "01_a.ipynb").write_text(notebook("a = 2"))
    (course / "02_b.ipynb").write_text(notebook("b = 2"))
    (course / "03_c.ipynb").write_text(notebook("c = 1"))
    report = sync(course, ws, metadata={})
    assert (report.added, report.updated, report.newer) == (
        ["03_c.ipynb"],
        ["02_b.ipynb"],
        ["01_a.ipynb"],
    )
    assert (ws / "01_a.ipynb").read_text() == mine
    assert sources(ws / "02_b.ipynb") == ["b = 2"] and sources(ws / "03_c.ipynb") == ["c = 1"]
    message = "\n".join(report.lines(ws, "./course lab"))
    assert "the course has a newer 01_a.ipynb; your copy has your changes and is kept" in message
    assert "01_a-mine.ipynb" in message and "./course lab again" in message

    # Said again on every run until the student acts; nothing else to do.
    again = sync(course, ws, metadata={})
    assert (again.added, again.updated, again.newer) == ([], [], ["01_a.ipynb"])
    # The student renames their copy as told: the next run puts the new version beside it.
    (ws / "01_a.ipynb").rename(ws / "01_a-mine.ipynb")
    after = sync(course, ws, metadata={})
    assert after.added == ["01_a.ipynb"] and not after.newer
    assert sources(ws / "01_a.ipynb") == ["a = 2"] and (ws / "01_a-mine.ipynb").read_text() == mine


def test_an_edit_after_an_update_is_still_protected(tmp_path):
    course, ws = tmp_path / "notebooks", tmp_path / "workspace"
    course.mkdir()
    (course / "01_a.ipynb").write_text(notebook("a = 1"))
    sync(course, ws, metadata={})
    (ws / "01_a.ipynb").write_text(notebook("my work"))
    assert sync(course, ws, metadata={}).newer == []  # course unchanged: nothing to say
    (course / "01_a.ipynb").write_text(notebook("a = 2"))
    assert sync(course, ws, metadata={}).newer == ["01_a.ipynb"]
    assert sources(ws / "01_a.ipynb") == ["my work"]


def test_copies_carry_what_jupyterlab_adds_on_opening(tmp_path):
    """What the kernel reports is in every copy already (tests/test_browser.py opens some in JupyterLab)."""
    meta = workspace.kernel_metadata()
    assert meta["kernelspec"] == build.LAB_KERNELSPEC
    assert meta["language_info"] == dict(build.LAB_LANGUAGE_INFO, version=platform.python_version())
    sync(ROOT / "notebooks", tmp_path)
    for copy in tmp_path.glob("*.ipynb"):
        nb = json.loads(copy.read_text())
        assert {k: nb["metadata"][k] for k in meta} == meta, copy.name
        assert build.dumps(nb) == copy.read_text()  # the format JupyterLab saves in


def test_lab_command_allows_root_only_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr(workspace.os, "geteuid", lambda: 1000)
    argv = workspace.lab_command(tmp_path, ["--no-browser"])
    assert "--allow-root" not in argv and argv[-1] == "--no-browser"
    assert "--LabApp.news_url=None" in argv and "--ServerApp.ip=127.0.0.1" in argv
    monkeypatch.setattr(workspace.os, "geteuid", lambda: 0)
    assert "--allow-root" in workspace.lab_command(tmp_path, [])
