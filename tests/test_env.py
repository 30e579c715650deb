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
