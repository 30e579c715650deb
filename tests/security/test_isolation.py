"""One student cannot harm the others, the grader or the machine (issue 10), root or not.

The hostile files of ``corpus/isolation/`` (kill everything in sight, a daemon that outlives
the batch, /dev/shm, /tmp, /var/tmp and SysV shared memory filled and left, memory through
many children, busy children in their own sessions, reading the seed, other submissions,
~/.ssh and the grader's environment, rewriting results, ptrace, patching the installed
package) are graded in one batch beside honest files, while a second batch of honest files
runs at the same time, from a working folder where a ``d2l`` package is planted. An attack
that works scores (it returns the right answer only then), so every attack must score 0,
every honest file full marks, and nothing may be left behind.

Both as root and as a normal user: the test creates one (``useradd``) when run as root, and
runs the grader as that user with this interpreter; run as a normal user, that user is you.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus" / "isolation"
REPO = Path(__file__).resolve().parents[2]
USER = "d2lcnn-sandbox-test"
TOKEN_NAME, TOKEN = "D2LCNN_ISOLATION_TOKEN", "iso-token-7f3e21"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-d2liso\n"
SHM_KEY = 0x0D2150A  # the SysV key iso_fill_tmp.py uses
TAGGED = ("/tmp", "/var/tmp", "/dev/shm")  # where iso_fill_tmp.py leaves d2liso-* files
HONEST_COPIES = 6  # honest files in the concurrent batch


def user_interpreters() -> list[tuple[str, list[str]]]:
    """Interpreters the test user might run the grader with, and what each needs on PYTHONPATH.

    This one first; then the system's Python of the same version with this environment's
    site-packages: a venv made from a Python under /root (pyenv) cannot be run by other users,
    while Debian's /usr/bin/python3.X can, and loads the same compiled packages.
    """
    candidates = [(sys.executable, [])]
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if system.exists() and Path(sys.executable).resolve() != system.resolve():
        candidates.append(
            (str(system), sorted(set(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))))
        )
    return candidates


USER_PYTHON: list[tuple[str, list[str]]] = []  # the interpreter user_problem() found, once


def user_problem() -> str | None:
    """Why the grader cannot be run as the test user here; None when it can (user created)."""
    if os.getuid() != 0:
        USER_PYTHON[:] = [(sys.executable, [])]
        return None  # the normal user is whoever runs the tests
    if not (shutil.which("useradd") and shutil.which("runuser")):
        return "useradd or runuser missing"
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        made = subprocess.run(["useradd", "-m", USER], capture_output=True, text=True)
        if made.returncode != 0:
            return f"useradd -m {USER} failed: {made.stderr.strip()}"
    errors = []
    for python, paths in user_interpreters():
        probe = subprocess.run(
            ["runuser", "-u", USER, "--", python, "-c", "import torch, d2lcnn"],
            capture_output=True,
            text=True,
            cwd="/",
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": os.pathsep.join([*paths, str(REPO)]),
            },
        )
        if probe.returncode == 0:
            USER_PYTHON[:] = [(python, paths)]
            return None
        errors.append(f"{python}: {probe.stderr.strip().splitlines()[-1:]}")
    return f"user {USER} cannot import torch and d2lcnn from {REPO} with any of: {errors}"


def package_digest(code: Path) -> str:
    """A hash of every file of the course package under ``code`` and of torch's top folder."""
    import torch

    h = hashlib.sha256()
    for folder in (code / "d2lcnn", Path(torch.__file__).parent):
        pattern = "*" if folder.name == "torch" else "**/*"
        for p in sorted(folder.glob(pattern)):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


def shm_keys() -> set[int]:
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in lines}


def tagged_files() -> list[str]:
    return [str(p) for folder in TAGGED for p in Path(folder).glob("d2liso-*")]


def processes_named(name: str) -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(int(comm.parent.name))
        except OSError:
            pass
    return found


def processes_of(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(line.split()[1]) == uid:
            found.append(int(status.parent.name))
    return found


def results(out: Path) -> dict[str, dict]:
    return {
        Path(r["submission"]).name: r
        for r in (json.loads(p.read_text()) for p in out.glob("*.json"))
        if isinstance(r, dict) and "submission" in r
    }


class Run:
    """Both batches of one mode, graded at once, and what the machine looked like after."""

    def __init__(self, mode: str, ws: Path) -> None:
        self.mode, self.ws = mode, ws
        self.subs, self.out = ws / "subs", ws / "out"
        self.subs2, self.out2 = ws / "subs2", ws / "out2"
        self.home = Path(f"/home/{USER}") if mode == "user" and os.getuid() == 0 else ws / "home"
        if mode == "user" and os.getuid() != 0:
            self.home = Path.home()
        # the normal user grades with a copy of the package it owns (an instructor's own
        # install), so only the read-only view keeps a submission from patching it
        self.code = ws / "code" if mode == "user" and os.getuid() == 0 else REPO

    def prepare(self) -> None:
        ws = self.ws
        for folder in (self.subs, self.subs2, ws / "cwd" / "d2l", ws / "tmp"):
            folder.mkdir(parents=True)
        if self.code != REPO:
            shutil.copytree(
                REPO / "d2lcnn", self.code / "d2lcnn", ignore=shutil.ignore_patterns("__pycache__")
            )
        values = {
            "@OUT@": str(self.out),
            "@SUBS@": str(self.subs),
            "@HOME@": str(self.home),
            "@TOKEN@": TOKEN,
            "@TOKEN_NAME@": TOKEN_NAME,
        }
        for src in CORPUS.glob("*.py"):
            text = src.read_text()
            for key, value in values.items():
                text = text.replace(key, value)
            (self.subs / src.name).write_text(text)
        for i in range(HONEST_COPIES):
            shutil.copy(CORPUS / "honest_a.py", self.subs2 / f"honest_{i}.py")
        (ws / "cwd" / "d2l" / "__init__.py").write_text(
            f"open({str(ws / 'planted-ran')!r}, 'w').close()\n"
            "raise ImportError('the planted d2l was imported')\n"
        )
        (ws / "cwd").chmod(0o777)  # world-writable, as in the attack
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        (ssh / "id_rsa").write_text(SSH_KEY)
        if self.mode == "user" and os.getuid() == 0:
            for path in (ws, ssh.parent):
                subprocess.run(["chown", "-R", f"{USER}:{USER}", str(path)], check=True)
        (ssh / "id_rsa").chmod(0o600)
        ws.chmod(0o755)

    def command(self, subs: Path, out: Path) -> list[str]:
        prefix = ["runuser", "-u", USER, "--"] if self.mode == "user" and os.getuid() == 0 else []
        python = USER_PYTHON[0][0] if self.mode == "user" else sys.executable
        grade = [python, "-m", "d2lcnn.cli", "grade", str(subs), "--out", str(out)]
        # Every file here is about corr2d: the batch grades that exercise only.
        return (
            prefix
            + grade
            + ["--exercises", "corr2d", "--timeout", "8", "--jobs", "2", "--no-report"]
        )

    def grade(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "PYTHONPATH": os.pathsep.join(
                [*(USER_PYTHON[0][1] if self.mode == "user" else []), str(self.code)]
            ),
            "TMPDIR": str(self.ws / "tmp"),
            "LANG": "C.UTF-8",
            TOKEN_NAME: TOKEN,
        }
        self.shm_before = shm_keys()
        self.digest_before = package_digest(self.code)
        procs = [
            subprocess.Popen(
                self.command(subs, out),
                cwd=self.ws / "cwd",
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for subs, out in ((self.subs, self.out), (self.subs2, self.out2))
        ]
        self.logs = [p.communicate(timeout=600)[0] for p in procs]
        self.codes = [p.returncode for p in procs]
        # what is left right after both batches
        self.survivors = processes_named("d2lsurvivor")
        self.user_processes = processes_of(self.uid()) if self.mode == "user" else []
        self.tagged = tagged_files()
        self.shm_left = (shm_keys() - self.shm_before) | (shm_keys() & {SHM_KEY})
        self.tmp_left = sorted(os.listdir(self.ws / "tmp"))
        self.digest_after = package_digest(self.code)
        self.records, self.records2 = results(self.out), results(self.out2)

    def uid(self) -> int:
        if os.getuid() == 0:
            return int(subprocess.run(["id", "-u", USER], capture_output=True).stdout)
        return os.getuid()


@pytest.fixture(scope="module", params=["root", "user"])
def run(request: pytest.FixtureRequest):
    mode = request.param
    if mode == "root" and os.getuid() != 0:
        pytest.skip("the root case needs the tests to run as root")
    if mode == "user":
        problem = user_problem()
        if problem:
            pytest.skip(f"the normal-user case cannot run here: {problem}")
    ws = Path(tempfile.mkdtemp(prefix="d2lcnn-isotest-", dir="/tmp"))
    r = Run(mode, ws)
    try:
        r.prepare()
        r.grade()
        yield r
    finally:
        shutil.rmtree(ws, ignore_errors=True)
        for path in tagged_files():
            Path(path).unlink(missing_ok=True)


def test_honest_files_graded_in_full_in_both_batches(run):
    assert run.codes == [0, 0], run.logs
    honest = {n: r for n, r in run.records.items() if n.startswith("honest_")}
    assert len(honest) == 2 and len(run.records2) == HONEST_COPIES, (run.records, run.logs)
    for name, record in {**honest, **run.records2}.items():
        assert record["score"] == record["max_score"] == 10, (name, record["exercises"])


def test_every_attack_scores_nothing(run):
    attacks = sorted(p.name for p in CORPUS.glob("iso_*.py"))
    assert sorted(n for n in run.records if n.startswith("iso_")) == attacks
    for name in attacks:
        assert run.records[name]["score"] == 0, (name, run.records[name]["exercises"])


def test_nothing_left_behind(run):
    assert run.survivors == [] and run.user_processes == []
    assert run.tagged == [] and run.shm_left == set()
    assert run.tmp_left == []  # the workers' view folders and scratch folders are gone
    assert not (run.out / "survivor-was-here").exists() and not (run.out / "pwned").exists()


def test_secrets_stay_out(run):
    printed = run.records["iso_read_secrets.py"]["exercises"]["corr2d"]["output"]
    assert "found" not in printed
    for p in [*run.out.glob("*"), *run.out2.glob("*")]:
        text = p.read_text(errors="replace")
        assert TOKEN not in text and "OPENSSH" not in text, p


def test_results_and_package_untouched(run):
    assert run.digest_after == run.digest_before
    assert not (run.code / "d2lcnn" / "grading" / "pwned.py").exists()
    honest = run.records["honest_a.py"]
    assert honest["grader"] == "d2lcnn" and honest["score"] == 10
    assert "ptrace" not in run.records["iso_ptrace.py"]["exercises"]["corr2d"]["output"]


def test_the_job_as_a_whole_has_a_process_cap(run):
    for name, label in (("iso_memory_children.py", "children"), ("iso_cpu_hog.py", "busy")):
        printed = run.records[name]["exercises"]["corr2d"]["output"]
        started = int(printed.split(f"{label}")[1].split(":")[1].split()[0])
        assert 0 < started < 8, printed  # 8 processes for the whole job, PID 1 included


def test_a_d2l_planted_in_the_working_folder_is_never_imported(run):
    assert run.records["honest_uses_d2l.py"]["score"] == 10
    assert not (run.ws / "planted-ran").exists()


def test_refuses_without_namespaces_unless_trusted(tmp_path):
    """Where the kernel allows no namespace, the worker says what to do and exits 3."""
    boot = (
        "import d2lcnn.grading.namespaces as n\n"
        "def refuse(*args):\n"
        "    raise n.Unavailable(1, 'unshare(user, mount, pid): Operation not permitted')\n"
        "n.enter_worker = refuse\n"
        f"n.boot(['0', {str(tmp_path)!r}])\n"
    )
    proc = subprocess.run([sys.executable, "-c", boot], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "cannot isolate student code" in proc.stderr and "--trusted-code" in proc.stderr
    # namespaces allowed, but a job's own set-up refused (a container's seccomp, say): the
    # worker's trial job at start-up finds it, before any submission
    (tmp_path / "view").mkdir()
    boot = boot.replace("n.enter_worker = refuse", "n.enter_view = refuse")
    boot = boot.replace(repr(str(tmp_path)), repr(str(tmp_path / "view")))
    proc = subprocess.run([sys.executable, "-c", boot], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert "cannot isolate student code" in proc.stderr and "Operation not permitted" in proc.stderr
    (tmp_path / "a.py").write_text((CORPUS / "honest_a.py").read_text())
    graded = subprocess.run(
        [sys.executable, "-m", "d2lcnn.cli", "grade", str(tmp_path / "a.py")]
        + [
            "--out",
            str(tmp_path / "out"),
            "--exercises",
            "corr2d",
            "--trusted-code",
            "--no-report",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert graded.returncode == 0, graded.stderr
    assert results(tmp_path / "out")["a.py"]["score"] == 10
