"""Topology transformers under their former module name: a thin re-export.

:class:`CubicalBettiProfile` lives in :mod:`skalign.estimators.cubical` and
:class:`PersistenceSummary` in :mod:`skalign.estimators.persistence`; this module
keeps ``skalign.estimators.topology`` importable.
"""

from .cubical import CubicalBettiProfile
from .persistence import PersistenceSummary

__all__ = ["CubicalBettiProfile", "PersistenceSummary"]
