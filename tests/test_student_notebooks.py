"""Every student notebook runs, without the solutions, up to its first stub."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import STUB, STUDENT

NOTEBOOKS = sorted(STUDENT.glob("*.ipynb"))


def first_stub(nb):
    return next(
        (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and STUB in c.source), None
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_notebook_runs_up_to_its_first_stub(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs left in"
    stop = first_stub(nb)
    if stop is None:
        pytest.skip("no exercise stub in this notebook")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for index in range(stop + 1):
            try:
                client.execute_cell(nb.cells[index], index)
            except CellExecutionError as e:
                # The stub cell itself may only fail by being a stub.
                assert index == stop and e.ename == "NotImplementedError", (
                    f"{path.name}, cell {index} failed: {e.ename}: {e.evalue}"
                )
