"""End to end, as a student: ``d2lcnn lab`` (what ``./course lab`` runs) in JupyterLab, driven in Chromium.

A temporary copy of the repository (a git repository of its own) is served on a
free loopback port with a token. The student workspace is made on the first
run; the tests open notebook 02 (not marked modified), write ``corr2d`` in it
and read the self-check, run ``check_all()``, and Run All of notebook 07 in
quick mode while watching the progress bar and the live plot; at the end git
sees no change. (That every copy carries what JupyterLab adds on opening is
tested for all notebooks in tests/test_workspace.py; opening each of them here
would cost two more minutes.) On failure a screenshot is saved under pytest's
temporary folder and its path printed.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "d2lcnn-browser-test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
RIGHT = """def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y"""
WRONG = RIGHT.replace("X.shape[1] - w + 1", "X.shape[1] - w")  # one column short


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(folder, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def digests(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))
    }


class Lab:
    """A JupyterLab server on a copy of the repository."""

    def __init__(self, tmp):
        self.repo, self.port = tmp / "repo", free_port()
        tracked = git(ROOT, "ls-files", "-z").split("\0")
        for rel in filter(None, tracked):
            if (ROOT / rel).is_file():  # a file deleted but not yet committed is skipped
                (self.repo / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, self.repo / rel)
        git(self.repo, "init", "-q")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "copy")
        self.workspace = self.repo / "workspace"
        env = dict(
            os.environ,
            PYTHONPATH=str(self.repo),
            D2LCNN_QUICK="1",
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        )
        lab_state = tmp / "lab-state"  # no tabs restored from another session
        self.log = open(tmp / "lab.log", "w")  # noqa: SIM115 (open while the server runs)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "d2lcnn.cli",
                "lab",
                "--no-browser",
                f"--port={self.port}",
                f"--IdentityProvider.token={TOKEN}",
                f"--LabApp.workspaces_dir={lab_state}",
                f"--LabApp.user_settings_dir={lab_state}",
            ],
            cwd=self.repo,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not self.api("status"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(
                    f"JupyterLab did not start within 60 s: {(tmp / 'lab.log').read_text()}"
                )
            time.sleep(0.3)
        self.digests = digests(self.workspace)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def api(self, path, method="GET"):
        request = urllib.request.Request(
            self.url(f"api/{path}"), method=method, headers={"Authorization": f"token {TOKEN}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                body = r.read()
                return json.loads(body) if body else {}
        except OSError:
            return None

    def stop_kernels(self):
        for session in self.api("sessions") or []:
            self.api(f"sessions/{session['id']}", method="DELETE")

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("browser"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab, tmp_path_factory, request):
    """A fresh page; console errors are collected; a screenshot is saved if the test fails;
    no request may leave loopback."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    local = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")
    page.outside = []  # requests that would leave loopback (a CDN, a remote font or script)
    page.on("request", lambda r: None if r.url.startswith(local) else page.outside.append(r.url))
    failed = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed:  # this test's call failed (reported before teardown)
        shots = tmp_path_factory.mktemp("screenshots")
        path = shots / f"{request.node.name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"\nscreenshot of the failure: {path}")
    page.close()
    lab.stop_kernels()
    assert page.outside == [], f"the page reached beyond loopback: {page.outside[:5]}"


def assert_unchanged_by_opening(page):
    """The notebook just opened is not marked modified, and JupyterLab asked nothing about news."""
    assert page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0, (
        "the notebook is marked modified right after opening"
    )
    assert page.get_by_text("official Jupyter news").count() == 0  # nothing leaves loopback


def open_notebook(page, lab, name):
    """Open ``name`` of the workspace alone (no other tabs) and wait until its kernel is connected and idle."""
    page.goto(lab.url(f"lab/tree/{name}?reset&token={TOKEN}"))
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_be_visible(
        timeout=60_000
    )
    deadline = time.monotonic() + 60
    while not any(
        s["path"] == name
        and s["kernel"]["connections"] > 0
        and s["kernel"]["execution_state"] == "idle"
        for s in lab.api("sessions") or []
    ):
        assert time.monotonic() < deadline, f"the kernel of {name} did not start within 60 s"
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)  # the kernel's language_info reaches the notebook model


def code_cell(page, text):
    """The code cell whose source contains ``text``."""
    return page.locator(".jp-CodeCell").filter(has=page.locator(".cm-content", has_text=text))


def run(page, cell):
    """Run ``cell`` as a student does (click it, Shift+Enter) and wait until it has run."""
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    prompt.click()
    expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + 60
    while not (
        re.fullmatch(r"\[\d+\]:", text := prompt.inner_text().strip()) and text != before.strip()
    ):
        assert time.monotonic() < deadline, f"the cell did not finish within 60 s (prompt {text})"
        page.wait_for_timeout(100)


def replace_source(page, cell, text):
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)  # as pasted: no auto-indent
    page.keyboard.press("Escape")


def test_self_check_and_check_all_in_notebook_02(page, lab):
    open_notebook(page, lab, "02_conv_layer.ipynb")
    assert_unchanged_by_opening(page)
    run(page, code_cell(page, "import d2lcnn"))
    stub, check = (
        code_cell(page, "def corr2d(X, K):"),
        code_cell(page, 'd2lcnn.check("corr2d", corr2d)'),
    )

    replace_source(page, stub, RIGHT)
    run(page, stub)
    run(page, check)
    expect(check.locator(".jp-OutputArea-output")).to_contain_text(
        "corr2d: 3/3 public cases passed (all public cases passed", timeout=60_000
    )

    replace_source(page, stub, WRONG)
    run(page, stub)
    run(page, check)
    output = check.locator(".jp-OutputArea-output")
    expect(output).to_contain_text(
        "corr2d: 0/3 public cases passed (some public cases failed", timeout=60_000
    )
    expect(output).to_contain_text("expected shape (2, 2), got (2, 1)")

    last = code_cell(page, "d2lcnn.check_all()")
    run(page, last)
    summary = last.locator(".jp-OutputArea-output")
    expect(summary).to_contain_text("02_conv_layer: 0 of 3 exercises passed", timeout=60_000)
    expect(summary).to_contain_text("conv2d_true  not yet written")
    expect(summary).to_contain_text("corr2d       failed  (0/3 public cases)")
    expect(summary).to_contain_text(
        "Next: corr2d: the 3x3 example with a 2x2 kernel: expected shape (2, 2), got (2, 1)"
    )
    assert page.errors == []


# Record, at every change of the page, the training cell's figure (the PNG's length and tail)
# and whether its progress bar is showing: a cell is found by its output ("training on cpu").
WATCH = """() => {
  window.seen = {plots: new Set(), bars: 0, plotsWithBar: new Set()};
  new MutationObserver(() => {
    const cell = [...document.querySelectorAll('.jp-CodeCell')]
      .find(c => c.querySelector('.jp-OutputArea')?.textContent.includes('training on'));
    if (!cell) return;
    const bar = cell.querySelectorAll('.jp-OutputArea-output .widget-hprogress').length > 0;
    window.seen.bars += bar;
    for (const img of cell.querySelectorAll('.jp-OutputArea-output img')) {
      const key = img.src.length + img.src.slice(-80);
      window.seen.plots.add(key);
      if (bar) window.seen.plotsWithBar.add(key);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def solve_in_workspace(lab, name):
    """Write the solutions' code into the workspace copy's stub cells, as a student would."""
    from d2lcnn import build

    path = lab.workspace / name
    nb = json.loads(path.read_text(encoding="utf-8"))
    solved = json.loads((lab.repo / "solutions" / name).read_text(encoding="utf-8"))
    answers = {c["id"]: c["source"] for c in solved["cells"] if c["cell_type"] == "code"}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "NotImplementedError" in "".join(cell["source"]):
            text = build.without_markers("".join(answers[cell["id"]]))
            cell["source"] = build.as_lines(text.rstrip("\n"))
    path.write_text(build.dumps(nb), encoding="utf-8")


def test_run_all_of_notebook_07_trains_with_live_progress_and_plot(page, lab):
    # The training cells build the student's own LeNet: write the exercises first.
    solve_in_workspace(lab, "07_lenet.ipynb")
    open_notebook(page, lab, "07_lenet.ipynb")
    assert_unchanged_by_opening(page)
    page.evaluate(WATCH)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    last = code_cell(page, "d2lcnn.check_all()")
    from d2lcnn.grading import load_all

    total = sum(e.notebook.endswith("07_lenet.ipynb") for e in load_all().values())
    expect(last.locator(".jp-OutputArea-output")).to_contain_text(
        f"07_lenet: {total} of {total} exercises passed", timeout=150_000
    )
    train = (  # the first training cell (with the exercises written, all three train)
        page.locator(".jp-CodeCell")
        .filter(has=page.locator(".jp-OutputArea", has_text="training on"))
        .first
    )
    seen = page.evaluate(
        "({plots: seen.plots.size, bars: seen.bars, plotsWithBar: seen.plotsWithBar.size})"
    )
    print(f"\nnotebook 07, training cell: {seen}")
    assert seen["bars"] > 0, "the progress bar never showed while training"
    assert seen["plotsWithBar"] >= 1 and seen["plots"] >= 2, (
        f"the live plot was not redrawn in place while training: {seen}"
    )
    assert train.locator(".jp-OutputArea-output img").count() == 1  # one figure, updated in place
    # The bar ends as its last text line, every batch done (e.g. "100%|███| 10/10 [...]").
    expect(train.locator(".jp-OutputArea")).to_contain_text(re.compile(r"100%\|.*\| (\d+)/\1 "))
    expect(train.locator(".jp-OutputArea")).to_contain_text("examples/sec")
    assert page.errors == []


def test_the_course_files_stay_untouched(lab):
    """After all the above (the workspace's notebooks opened, edited, run), git sees no change."""
    assert git(lab.repo, "status", "--porcelain") == ""
    kept = {
        name: digest
        for name, digest in lab.digests.items()
        if name not in ("02_conv_layer.ipynb", "07_lenet.ipynb")
    }
    assert {name: digest for name, digest in digests(lab.workspace).items() if name in kept} == kept
