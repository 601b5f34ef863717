"""Plain functions for every measure in skalign: the single implementation.

The estimators in :mod:`skalign.estimators` call these; use them directly when
no fitting, cross-validation or pipeline is needed. Each family lives in its own
module (``skalign.spectrum``, ``skalign.kernels`` ...) and is re-exported here.
"""

from . import bures, cca, cknna, cubical, distance_correlation, geometry, gulp, imbalance, kernels, matching, persistence, regression, rsa, shape, spectrum, streaming, topology
from .bures import *  # noqa: F401,F403
from .cca import *  # noqa: F401,F403
from .cubical import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .gulp import *  # noqa: F401,F403
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
    for family in (spectrum, kernels, streaming, shape, regression, matching, cubical, persistence, geometry, imbalance, rsa,
                   distance_correlation, bures, cca, gulp, cknna)
    for name in family.__all__
]

# after __all__ is built: these star imports rebind the names ``rsa``,
# ``distance_correlation`` and ``cknna`` from the modules to their functions
from .rsa import *  # noqa: E402,F401,F403
from .distance_correlation import *  # noqa: E402,F401,F403
from .cknna import *  # noqa: E402,F401,F403
