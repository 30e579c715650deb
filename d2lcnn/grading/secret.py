"""The grader's secret and the per-submission seeds of the hidden cases derived from it.

The secret never reaches a sandboxed child, a worker, or the command line
(where any process could read it in ``/proc/PID/cmdline``): it comes from a
file (``--seed-file``), the ``D2LCNN_SEED`` environment variable (removed from
the environment once read, so the workers do not inherit it), or a new random
one kept in the results folder. Each submission's hidden cases are drawn from
an HMAC of the secret and the submission's content, so a leaked input set (or
a lookup table built from it) is useless for any other file, including the next
version of the same student's file.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SEED_FILE = ".grading-seed"
SEED_ENV = "D2LCNN_SEED"


class SecretError(ValueError):
    """The secret cannot be read (a missing or empty seed file)."""


def load_secret(
    out: Path, seed: str | int | None = None, seed_file: str | os.PathLike[str] | None = None
) -> str:
    """The batch's secret: ``seed``, else ``seed_file``'s content, else ``$D2LCNN_SEED``, else the
    one stored in ``out`` (a new random one the first time, stored with mode 0600)."""
    if seed is None and seed_file is not None:
        try:
            seed = Path(seed_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise SecretError(f"--seed-file {seed_file}: cannot be read ({e})") from None
        if not seed:
            raise SecretError(f"--seed-file {seed_file}: is empty; put a secret in it")
    env = os.environ.pop(SEED_ENV, None)  # the workers must not inherit it
    if seed is None:
        seed = env or None
    path = out / SEED_FILE
    if seed is None:
        if path.exists():
            seed = path.read_text().strip()
        else:
            seed = str(secrets.randbits(62))
            path.write_text(f"{seed}\n")
            path.chmod(0o600)
    return str(seed)


def secret_id(secret: str) -> str:
    """A public name of the secret (results carry it, so a rerun with another secret regrades)."""
    return hashlib.sha256(f"d2lcnn:{secret}".encode()).hexdigest()[:16]


def hidden_seed(secret: str, sha256: str) -> int:
    """The seed of one submission's hidden cases: HMAC-SHA256 of its content's hash.

    Example::

        >>> hidden_seed("s3cret", "ab" * 32) == hidden_seed("s3cret", "ab" * 32)
        True
        >>> hidden_seed("s3cret", "ab" * 32) == hidden_seed("s3cret", "cd" * 32)
        False
    """
    digest = hmac.new(secret.encode(), sha256.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 2  # torch.Generator takes < 2**63
