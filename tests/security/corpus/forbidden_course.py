"""Hostile: hands back the course's own answers to this exercise or a sibling of it."""


def corr2d(X, K):
    return d2lcnn.corr2d_vec(X, K)


def conv2d_true(X, K):
    return getattr(d2lcnn, "corr" + "2d")(X, K.flip(0, 1))


def pool2d(X, pool_size, mode="max"):
    return vars(d2lcnn)["pool2d_pad" + "_stride"](X, pool_size, stride=(1, 1), mode=mode)
