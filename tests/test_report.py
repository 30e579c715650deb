"""The class report: `d2lcnn grade` writes it, its figures are all there, its counts match
the gradebook, it needs nothing but the file, and two runs are compared."""

import base64
import csv
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "grading_corpus"
OUTCOMES = ("passed", "partial", "failed", "error", "timeout", "forbidden", "missing")


class Page(HTMLParser):
    """Figures (id -> img src), tables (id -> rows of cell text), every src/href, every tag."""

    def __init__(self):
        super().__init__()
        self.figures, self.tables, self.links, self.tags = {}, {}, [], set()
        self._figure = self._table = self._row = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "figure":
            self._figure = attrs.get("id")
        elif tag == "img" and self._figure:
            self.figures[self._figure] = attrs["src"]
        elif tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
            self.tables[self._table].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._row:
            self._row[-1] += data


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def rows(page, table):
    head, *body = page.tables[table]
    return [dict(zip(head, r)) for r in body]


def cli(*args):
    uid = str(210_000 + (os.getpid() % 100_000) * 4)
    env = dict(os.environ, D2LCNN_SANDBOX_UID=uid, D2LCNN_SEED="7")
    return subprocess.run(
        [sys.executable, "-m", "d2lcnn.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The example class, three corpus files, a disguised copy, and a file name with HTML in it."""
    root = tmp_path_factory.mktemp("report")
    subs = root / "subs"
    shutil.copytree(ROOT / "examples" / "submissions", subs)
    for name in ("correct_vectorized.py", "wrong_off_by_one.py", "hostile_segfault.py"):
        shutil.copy(CORPUS / name, subs / name)
    loop = (CORPUS / "correct_loop.py").read_text()
    (subs / "copy_a.py").write_text(loop)
    (subs / "copy_b.py").write_text(loop.replace("p_h", "a").replace("p_w", "b"))
    (subs / "x<img src=x onerror=alert(1)>.py").write_text("def corr2d(X, K):\n    return X\n")
    out = root / "grades"
    proc = cli("grade", subs, "--out", out, "--timeout", "3")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_grade_writes_the_report(graded):
    out, proc = graded
    assert f"class report: {out / 'report.html'}" in proc.stdout
    assert oct((out / "report.html").stat().st_mode & 0o777) == "0o600"


def test_every_figure_is_embedded_and_nothing_is_fetched(graded):
    out, _ = graded
    page = parse(out / "report.html")
    outcomes = rows(page, "table-outcomes")
    expected = {"fig-scores", "fig-outcomes", "fig-similarity"}
    expected |= {
        f"fig-cases-{r['exercise']}"
        for r in outcomes
        if r["missing"] != str(sum(int(r[o]) for o in OUTCOMES))
    }
    assert expected <= set(page.figures)
    for src in page.figures.values():
        head, data = src.split(",", 1)
        assert head == "data:image/svg+xml;base64"
        assert b"<svg" in base64.b64decode(data)
    assert "script" not in page.tags
    assert not [link for link in page.links if not link.startswith(("data:", "#"))]
    assert "<img src=x" not in (out / "report.html").read_text()


def test_counts_match_the_gradebook(graded):
    out, _ = graded
    with open(out / "gradebook.csv", newline="") as f:
        book = list(csv.DictReader(f))
    page = parse(out / "report.html")
    bins = {r["score"]: int(r["submissions"]) for r in rows(page, "table-scores")}
    assert sum(bins.values()) == len(book)
    in_top = sum(float(r["score"]) == float(r["max_score"]) for r in book)
    assert bins["90-100%"] >= in_top > 0
    for r in rows(page, "table-outcomes"):
        name, want = r["exercise"], dict.fromkeys(OUTCOMES, 0)
        for b in book:
            if b[name] == "":
                continue
            problems = dict(p.split(": ") for p in b["problems"].split("; ") if p)
            status = problems.get(name, "passed")
            want["partial" if status == "failed" and float(b[name]) > 0 else status] += 1
        assert {o: int(r[o]) for o in OUTCOMES} == want, name


def test_cases_sorted_by_difficulty_labels_only(graded):
    out, _ = graded
    page = parse(out / "report.html")
    cases = rows(page, "table-cases-corr2d")
    rates = [int(c["passed"]) / int(c["ran"]) for c in cases]
    assert rates == sorted(rates) and rates[0] < 1
    assert {c[""] for c in cases} == {"public", "hidden"}
    record = json.loads((out / "wrong_off_by_one.json").read_text())
    labels = [c["label"] for c in record["exercises"]["corr2d"]["cases"]]
    assert {c["case"] for c in cases} <= set(labels) | {
        c["case"] for c in cases if "vary" in c["case"]
    }


def test_needs_a_look_and_similarity(graded):
    out, _ = graded
    looks = rows(parse(out / "report.html"), "table-looks")
    why = {(Path(lk["submission"]).name, lk["exercise"], lk["why"]) for lk in looks}
    assert ("hostile_segfault.py", "corr2d", "crash") in why
    assert ("dave_02_conv_layer.ipynb", "corr2d_vec", "forbidden") in why
    assert ("dave_02_conv_layer.ipynb", "conv2d_true", "timeout") in why
    assert ("copy_a.py", "pool2d", "similar") in why and ("copy_b.py", "pool2d", "similar") in why
    assert ("alice_02_conv_layer.ipynb", "corr2d", "course copy") in why
    assert not [w for w in why if w[0] == "correct_vectorized.py"]


def test_report_compares_two_runs(graded, tmp_path):
    out, _ = graded
    before = tmp_path / "before"
    shutil.copytree(out, before)
    record = json.loads((before / "erin_05_pooling.json").read_text())
    record["score"] = 0.0
    record["exercises"]["pool2d"].update(status="failed", score=0.0)
    (before / "erin_05_pooling.json").write_text(json.dumps(record))
    proc = cli("report", out, "--compare", before, "--html", tmp_path / "r.html")
    assert proc.returncode == 0, proc.stderr
    assert "submissions; score mean" in proc.stdout
    page = parse(tmp_path / "r.html")
    assert "fig-changes" in page.figures
    (change,) = rows(page, "table-changes")
    assert change["before"] == "0%" and "pool2d: failed -> passed" in change["exercises"]


def test_report_on_a_folder_without_results(tmp_path):
    proc = cli("report", tmp_path)
    assert proc.returncode == 2 and "no d2lcnn result files" in proc.stderr


def test_mistakes_counted_per_submission(graded, tmp_path):
    """Recognised mistakes (judge records each failed case's as `mistake`) are counted once
    per submission and exercise; results without them show none."""
    out, _ = graded
    folder = tmp_path / "grades"
    shutil.copytree(out, folder)
    for path in folder.glob("*.json"):  # the grader's own diagnoses, taken out
        record = json.loads(path.read_text())
        for exercise in record.get("exercises", {}).values():
            for case in exercise.get("cases", []):
                case.pop("mistake", None)
        path.write_text(json.dumps(record))
    assert cli("report", folder).returncode == 0
    assert "no diagnosed mistake" in (folder / "report.html").read_text()
    for stem in ("wrong_off_by_one", "copy_a"):
        record = json.loads((folder / f"{stem}.json").read_text())
        for case in record["exercises"]["corr2d"]["cases"][:3]:
            case["mistake"] = "kernel flipped"
        (folder / f"{stem}.json").write_text(json.dumps(record))
    assert cli("report", folder).returncode == 0
    (row,) = rows(parse(folder / "report.html"), "table-mistakes")
    assert row == {
        "exercise": "corr2d",
        "mistake the grader recognised": "kernel flipped",
        "submissions": "2",
    }
