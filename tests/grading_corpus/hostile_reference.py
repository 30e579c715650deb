"""Hostile: hands back the course's own answers; corr2d_multi_in calls d2lcnn.corr2d (allowed)."""
import d2lcnn
from d2lcnn import corr2d as mine


def corr2d(X, K):
    return mine(X, K)


def pool2d(X, pool_size, mode='max'):
    return d2lcnn.pool2d(X, pool_size, mode)


def corr2d_multi_in(X, K):
    return sum(d2lcnn.corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X, K):
    from d2lcnn.grading import registry
    return registry.EXERCISES["corr2d_multi_in_out"].reference(X, K)


def corr2d_multi_in_out_1x1(X, K):
    check = __import__("d2lcnn").grading.EXERCISES
    return check["corr2d_multi_in_out_1x1"].reference(X, K)
