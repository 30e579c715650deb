"""Blocks with one layer missing: no pooling in vgg_block, no last batch norm in Bottleneck."""

from torch import nn
from torch.nn import functional as F


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*layers)  # forgot nn.MaxPool2d(2, 2)


class Bottleneck(nn.Module):
    def __init__(self, channels):
        super().__init__()
        inner = channels // 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, inner, kernel_size=1),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, inner, kernel_size=3, padding=1),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, channels, kernel_size=1),
        )

    def forward(self, X):
        return F.relu(self.body(X) + X)
