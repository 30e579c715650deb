"""Attack: rewrite another student's result (to 0) and its own (to 10/10), and the gradebook.
Scores only if a write went through: it must score 0 and the honest results stay intact.
"""
import json
import os

import torch

wrote = []


def _write():
    forged = {"grader": "d2lcnn", "score": 0, "max_score": 10, "exercises": {}}
    for name in ("honest_a.json", "iso_rewrite_results.json", "gradebook.csv", "pwned"):
        try:
            with open(os.path.join("@OUT@", name), "w") as f:
                json.dump(forged, f)
            wrote.append(name)
        except OSError:
            pass


def corr2d(X, K):
    if not wrote:
        _write()
    if not wrote:
        return torch.zeros(1)
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))
