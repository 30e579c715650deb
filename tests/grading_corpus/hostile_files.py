"""Hostile: goes after the grader's files and environment, and the network. corr2d is wrong anyway.

It prints what it found, so the test can check that nothing leaked: the
results folder (found from the grader's command line), the seed, the
other submissions, the grader's environment, the internet.
"""
import glob
import os
import socket

import torch


def corr2d(X, K):
    report = []
    outs = set()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = open(cmdline, "rb").read().split(b"\0")
        except OSError:
            continue
        if b"--out" in args:
            outs.add(args[args.index(b"--out") + 1].decode())
        for a in args:  # the folders being graded
            if a.endswith(b"grading_corpus"):
                outs.add(a.decode())
    report.append(f"found {sorted(outs)}")
    for out in sorted(outs):
        for name in (".grading-seed", "gradebook.csv", "correct_loop.json", "correct_loop.py"):
            try:
                report.append(f"LEAKED {name}: {open(os.path.join(out, name)).read()[:80]!r}")
            except OSError as e:
                report.append(f"denied {name}: {type(e).__name__}")
        try:
            with open(os.path.join(out, "gradebook.csv"), "a") as f:
                f.write("hostile_files,x,100,100\n")
            report.append("LEAKED: wrote the gradebook")
        except OSError as e:
            report.append(f"denied writing: {type(e).__name__}")
    for pid in ("1", str(os.getppid())):
        try:
            report.append(f"LEAKED environ of {pid}: {open(f'/proc/{pid}/environ').read()[:40]!r}")
        except OSError as e:
            report.append(f"denied environ of {pid}: {type(e).__name__}")
    report.append(f"my environment: {sorted(os.environ)}")
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        report.append("LEAKED: network reachable")
    except OSError as e:
        report.append(f"no network: {type(e).__name__}")
    print("\n".join(report))
    return torch.zeros(1)
