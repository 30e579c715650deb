"""Test-wide settings.

nbval executes the solution notebooks only: notebooks anywhere else (the
student versions, the grader's corpus, example submissions) are data, and so
are the corpora's Python files (some do not even parse, on purpose).
Docstring examples (``--doctest-modules`` on the package) see ``torch``,
``nn`` and ``F`` as a notebook of the course does.
"""

import pytest


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix == ".ipynb" and collection_path.parent.name != "solutions":
        return True
    if collection_path.name == "grading_corpus" or collection_path.match("security/corpus"):
        return True
    return None


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    import torch
    from torch import nn
    from torch.nn import functional as F

    doctest_namespace.update(torch=torch, nn=nn, F=F)
