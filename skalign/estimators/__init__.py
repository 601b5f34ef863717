"""Estimator layer: thin scikit-learn wrappers over the functions in skalign.metrics.

Each family module defines ``__all__``; this package re-exports them so that
``skalign.TopologicalAlignmentSpectrum`` and friends are importable from the top.
"""

__all__ = []

# Each family appends its estimators here, one line per family module.
# -- family imports --
from .topology import *  # noqa: F401,F403,E402
from .topology import __all__ as _topology_all  # noqa: E402

__all__ += _topology_all
from .geometry import *  # noqa: F401,F403,E402
from .geometry import __all__ as _geometry_all  # noqa: E402

__all__ += _geometry_all
from .kernels import *  # noqa: F401,F403,E402
from .kernels import __all__ as _kernels_all  # noqa: E402
from .regression import *  # noqa: F401,F403,E402
from .regression import __all__ as _regression_all  # noqa: E402

__all__ += _kernels_all + _regression_all
from .shape import *  # noqa: F401,F403,E402
from .shape import __all__ as _shape_all  # noqa: E402
from .matching import *  # noqa: F401,F403,E402
from .matching import __all__ as _matching_all  # noqa: E402

__all__ += _shape_all + _matching_all
from .spectrum import *  # noqa: F401,F403
from .spectrum import __all__ as _spectrum_all  # noqa: E402

__all__ += _spectrum_all
