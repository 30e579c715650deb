"""d2lcnn: the course package for the CNN chapters of Dive into Deep Learning.

Hand-written helpers (data, training, grading) come first; then every name
that the chapter modules in ``d2lcnn/chapters/`` (generated from
``solutions/`` by ``d2lcnn build``) save is re-exported here, so book code
such as ``d2lcnn.corr2d`` or ``d2lcnn.load_data_fashion_mnist`` works.
"""

from . import chapters
from .animator import Animator as Animator
from .compat import *
from .config import quick_mode as quick_mode
from .data import *
from .grading import check as check
from .grading import check_all as check_all
from .settings import *
from .train import *

globals().update({name: getattr(m, name) for m in chapters.MODULES for name in m.__all__})
