"""Plain functions for every measure in skalign: the single implementation.

The estimators in :mod:`skalign.estimators` call these; use them directly when
no fitting, cross-validation or pipeline is needed. Each family lives in its own
module and is re-exported here.
"""

__all__ = []

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
