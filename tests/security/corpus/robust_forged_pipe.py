"""Hostile: writes forged messages on the grader's result pipe (every descriptor that is a
pipe), claiming case after case passed, with a `"case": true`, a 400-digit number and a shape
of Infinity among them."""

import os
import stat

FORGED = (
    b'{"kind":"case_value","case":true,"value":{"kind":"number","value":1}}\n'
    b'{"kind":"case_value","case":0,"value":{"kind":"number","value":' + b"9" * 400 + b"}}\n"
    b'{"kind":"case_value","case":1,"value":{"kind":"tensor","dtype":"f","shape":[Infinity],"data":""}}\n'
)


def corr2d(X, K):
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, FORGED)
        except OSError:
            pass
    return X
