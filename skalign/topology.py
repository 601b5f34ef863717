"""Topology of one representation: the cubical and the Rips families under one name.

A thin module kept so that ``skalign.topology`` stays importable as before: it
re-exports :mod:`skalign.cubical` (cubical Betti profiles of samples on a grid,
topological complexity and its decay) and :mod:`skalign.persistence` (Vietoris-Rips
persistence of point clouds and its summaries). The measures live there.
"""

from . import cubical, persistence
from .cubical import *  # noqa: F401,F403
from .cubical import COMPLEXITY_NORMALIZATIONS, COMPLEXITY_SUMMARIES, CONSTRUCTIONS  # noqa: F401
from .persistence import *  # noqa: F401,F403
from .persistence import SCALES  # noqa: F401

__all__ = [*cubical.__all__, *persistence.__all__]
