"""Plain functions for every measure in skalign: the single implementation.

The estimators in :mod:`skalign.estimators` call these; use them directly when
no fitting, cross-validation or pipeline is needed. Each family lives in its own
module and is re-exported here.
"""

__all__ = []

# -- family imports --
