"""Plain functions for every measure in skalign: the single implementation.

The estimators in :mod:`skalign.estimators` call these; use them directly when
no fitting, cross-validation or pipeline is needed. Each family lives in its own
module (``skalign.spectrum``, ``skalign.kernels`` ...) and is re-exported here.
"""

from . import cubical, geometry, imbalance, kernels, matching, persistence, regression, shape, spectrum, streaming, topology
from .cubical import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .imbalance import *  # noqa: F401,F403
from .kernels import *  # noqa: F401,F403
from .matching import *  # noqa: F401,F403
from .persistence import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .spectrum import *  # noqa: F401,F403
from .streaming import *  # noqa: F401,F403

__all__ = [
    name
    for family in (spectrum, kernels, streaming, shape, regression, matching, cubical, persistence, geometry, imbalance)
    for name in family.__all__
]
