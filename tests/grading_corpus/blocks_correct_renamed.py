"""Correct blocks written differently from the course: other names, other nesting, other order."""

import torch
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        # The shortcut is registered first, and the main path is one nested Sequential.
        if use_1x1conv:
            self.skip = nn.Sequential(
                nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
            )
        else:
            self.skip = nn.Identity()
        self.main = nn.Sequential(
            nn.Sequential(
                nn.Conv2d(input_channels, num_channels, 3, stride=strides, padding=1),
                nn.BatchNorm2d(num_channels),
            ),
            nn.ReLU(),
            nn.Sequential(nn.Conv2d(num_channels, num_channels, 3, padding=1)),
            nn.BatchNorm2d(num_channels),
        )

    def forward(self, x):
        return torch.relu(self.skip(x) + self.main(x))


def vgg_block(num_convs, in_channels, out_channels):
    convs = []
    for i in range(num_convs):
        convs.append(
            nn.Sequential(
                nn.Conv2d(out_channels if i else in_channels, out_channels, (3, 3), padding=(1, 1)),
                nn.ReLU(inplace=True),
            )
        )
    return nn.Sequential(*convs, nn.MaxPool2d(2))


class ConvBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.norm = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.relu(self.norm(x)))


def conv_block(input_channels, num_channels):
    return ConvBlock(input_channels, num_channels)


class DenseBlock(nn.Module):
    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        self.layers = nn.ModuleList(
            [conv_block(input_channels + i * num_channels, num_channels) for i in range(num_convs)]
        )

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class Inception(nn.Module):
    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        # Paths defined in reverse order, as a ModuleDict.
        self.paths = nn.ModuleDict(
            {
                "pool": nn.Sequential(
                    nn.MaxPool2d(3, 1, 1), nn.Conv2d(in_channels, c4, 1), nn.ReLU()
                ),
                "five": nn.Sequential(
                    nn.Conv2d(in_channels, c3[0], 1),
                    nn.ReLU(),
                    nn.Conv2d(c3[0], c3[1], 5, padding=2),
                    nn.ReLU(),
                ),
                "three": nn.Sequential(
                    nn.Conv2d(in_channels, c2[0], 1),
                    nn.ReLU(),
                    nn.Conv2d(c2[0], c2[1], 3, padding=1),
                    nn.ReLU(),
                ),
                "one": nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU()),
            }
        )

    def forward(self, x):
        order = ("one", "three", "five", "pool")
        return torch.cat([self.paths[k](x) for k in order], dim=1)


class BatchNorm(nn.Module):
    """Running statistics under other names, kept as (C,) vectors; gamma and beta too."""

    def __init__(self, num_features, num_dims):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_features))
        self.shift = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("avg", torch.zeros(num_features))
        self.register_buffer("spread", torch.ones(num_features))
        self.view = (1, -1) if num_dims == 2 else (1, -1, 1, 1)

    def forward(self, X):
        dims = [d for d in range(X.dim()) if d != 1]
        if self.training:
            mean, var = X.mean(dim=dims), X.var(dim=dims, unbiased=False)
            n = X.numel() / X.shape[1]
            with torch.no_grad():
                self.avg.mul_(0.9).add_(0.1 * mean)
                self.spread.mul_(0.9).add_(0.1 * var * n / (n - 1))
        else:
            mean, var = self.avg, self.spread
        X_hat = (X - mean.reshape(self.view)) / torch.sqrt(var.reshape(self.view) + 1e-5)
        return X_hat * self.scale.reshape(self.view) + self.shift.reshape(self.view)
