"""Estimator layer: thin scikit-learn wrappers over the functions in skalign.metrics.

Each family module defines ``__all__``; this package re-exports them so that
``skalign.TopologicalAlignmentSpectrum`` and friends are importable from the top.
"""

from . import bures, cca, cubical, distance_correlation, geometry, gulp, imbalance, kernels, knn, matching, paired, persistence, preprocessing, regression, rsa, shape, spectrum  # noqa: E501
from .bures import *  # noqa: F401,F403
from .cca import *  # noqa: F401,F403
from .cubical import *  # noqa: F401,F403
from .distance_correlation import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .gulp import *  # noqa: F401,F403
from .imbalance import *  # noqa: F401,F403
from .kernels import *  # noqa: F401,F403
from .knn import *  # noqa: F401,F403
from .matching import *  # noqa: F401,F403
from .paired import *  # noqa: F401,F403
from .persistence import *  # noqa: F401,F403
from .preprocessing import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .rsa import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .spectrum import *  # noqa: F401,F403

__all__ = [
    name
    for family in (spectrum, kernels, shape, regression, matching, cubical, persistence, geometry, imbalance, rsa,
                   distance_correlation, bures, cca, gulp, knn, paired, preprocessing)
    for name in family.__all__
]
