"""Right layers, right shapes, but forward computes with weights of its own, not the registered ones.

vgg_block: the convolutions' weights are copied at construction and the copies are used
(loading other weights into the module changes nothing). transition_block: forward builds
fresh layers every call.
"""

import torch
from torch import nn
from torch.nn import functional as F


class _Frozen(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.convs = nn.ModuleList()
        for i in range(num_convs):
            self.convs.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1))
        self.copies = [(c.weight.detach().clone(), c.bias.detach().clone()) for c in self.convs]

    def forward(self, X):
        for w, b in self.copies:
            X = F.relu(F.conv2d(X, w, b, padding=1))
        return F.max_pool2d(X, 2)


def vgg_block(num_convs, in_channels, out_channels):
    return _Frozen(num_convs, in_channels, out_channels)


class _Fresh(nn.Module):
    def __init__(self, input_channels, num_channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(input_channels), nn.ReLU(), nn.Conv2d(input_channels, num_channels, 1)
        )
        self.sizes = (input_channels, num_channels)

    def forward(self, X):
        torch.manual_seed(0)
        fresh = nn.Sequential(
            nn.BatchNorm2d(self.sizes[0]), nn.ReLU(), nn.Conv2d(*self.sizes, 1), nn.AvgPool2d(2)
        )
        return fresh.train(self.training)(X)


def transition_block(input_channels, num_channels):
    return _Fresh(input_channels, num_channels)
