"""nbval executes the solution notebooks only: notebooks anywhere else (the
student versions, the grader's corpus, example submissions) are data."""


def pytest_ignore_collect(collection_path, config):
    if collection_path.suffix == ".ipynb" and collection_path.parent.name != "solutions":
        return True
    return None
