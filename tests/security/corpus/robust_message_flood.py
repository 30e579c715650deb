"""Hostile: floods the result pipe with tiny well-formed messages (each one small, all of
them many times what the grader reads) to exhaust the grader's memory."""

import os
import stat

LINE = b'{"kind":"forbidden","what":"x"}\n'


def corr2d(X, K):
    fds = [fd for fd in range(3, 64) if _is_pipe(fd)]
    chunk = LINE * 4096
    for _ in range(20000):
        for fd in fds:
            os.write(fd, chunk)
    return X


def _is_pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
