"""Hostile: prints a fake perfect report and writes fake results on every file descriptor."""
import json
import os

import torch


def corr2d(X, K):
    print(json.dumps({"score": 100, "max_score": 100, "status": "passed", "tests": []}))
    fake = json.dumps({"case": 0, "value": {"kind": "tensor", "dtype": "torch.float32",
                                            "shape": [1], "data": "AAAAAAAA8D8="}}) + "\n"
    for fd in range(3, 256):
        try:
            os.write(fd, (fake + '{"done": true}\n').encode())
        except OSError:
            pass
    return torch.zeros(1)
