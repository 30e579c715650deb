"""environment.yml and pyproject.toml list the same dependencies."""

import re

import tomllib
import yaml

from conftest import ROOT


def normalized(reqs):
    return {re.sub(r"\s+", "", r).lower() for r in reqs}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = normalized(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = normalized(r for r in pip if not r.startswith("-e"))
    assert listed == declared
    assert "-e .[dev]" in pip
    assert "python=3.11" in env["dependencies"]


def test_dependencies_have_floors_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in req and "==" not in req, req


def test_pre_commit_runs_only_local_hooks_from_the_venv():
    """pre-commit clones nothing: every hook runs a tool that `./course test` installed."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in config["repos"] for h in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    assert {h["id"] for h in hooks} >= {
        "ruff-check",
        "ruff-format",
        "mypy",
        "notebooks",
        "build-check",
    }
    assert all(h["entry"].startswith(".venv/bin/") and h["language"] == "system" for h in hooks)
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installed = {re.split(r"[<>=]", r)[0] for r in dev["dev"]}
    assert {"ruff", "mypy", "pre-commit"} <= installed


def test_course_test_lints_first():
    """./course test fails on lint: ruff check, ruff format --check and mypy run before pytest."""
    script = (ROOT / "course").read_text()
    test = script[script.index("    test)") :]
    lint = script[script.index("lint() {") : script.index("\n}\n", script.index("lint() {"))]
    assert test.index("lint") < test.index("pytest")
    for command in ("ruff check .", "ruff format --check .", "mypy"):
        assert f".venv/bin/{command}" in lint, command
