"""Modules that lie about their parameters.

Residual: its real state has no 1x1 shortcut convolution (the shortcut is an unregistered
conv kept in a plain list), but parameters(), named_parameters(), state_dict() and children()
report a complete block. A grader that believed them would see the right shapes.
conv_block: its parameters() claims nothing at all, while the real layers are correct: the
grader reads the registered state, so it passes.
"""

from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
        self.bn1, self.bn2 = nn.BatchNorm2d(num_channels), nn.BatchNorm2d(num_channels)
        hidden = nn.Conv2d(input_channels, num_channels, 1, stride=strides) if use_1x1conv else None
        self.__dict__["_hidden"] = [hidden]  # not registered: the grader's fill does not reach it
        self.__dict__["_claimed"] = nn.ModuleList(
            [self.conv1, self.conv2, self.bn1, self.bn2] + ([hidden] if hidden else [])
        )

    def parameters(self, recurse=True):
        return self._claimed.parameters()

    def named_parameters(self, *args, **kwargs):
        return self._claimed.named_parameters(*args, **kwargs)

    def state_dict(self, *args, **kwargs):
        return self._claimed.state_dict(*args, **kwargs)

    def children(self):
        return self._claimed.children()

    def forward(self, X):
        Y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(X)))))
        shortcut = self._hidden[0]
        return F.relu(Y + (X if shortcut is None else shortcut(X)))


class _Quiet(nn.Sequential):
    def parameters(self, recurse=True):
        return iter(())

    def named_parameters(self, *args, **kwargs):
        return iter(())


def conv_block(input_channels, num_channels):
    return _Quiet(
        nn.BatchNorm2d(input_channels),
        nn.ReLU(),
        nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1),
    )
