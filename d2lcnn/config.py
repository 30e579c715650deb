"""Run-time settings read from the environment.

``D2LCNN_QUICK=1`` switches on quick mode: every notebook trains on a small
slice of Fashion-MNIST for at most two epochs, so CI can execute all of them
in minutes. Students leave it unset and run the same cells in full mode.
"""

import os

QUICK_TRAIN_EXAMPLES = 512
QUICK_TEST_EXAMPLES = 256
QUICK_MAX_EPOCHS = 2
# The book's own train_ch6 plots every fifth of an epoch (it fails with fewer than five
# batches), so 28x28 data serves at least this many training batches in quick mode.
QUICK_MIN_BATCHES = 5


def quick_mode() -> bool:
    """True when ``D2LCNN_QUICK`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get("D2LCNN_QUICK", "") not in ("", "0")


def epochs(num_epochs: int) -> int:
    """The number of epochs to actually run: ``num_epochs``, capped in quick mode."""
    return min(num_epochs, QUICK_MAX_EPOCHS) if quick_mode() else num_epochs
