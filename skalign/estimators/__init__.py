"""Estimator layer: thin scikit-learn wrappers over the functions in skalign.metrics.

Each family module defines ``__all__``; this package re-exports them so that
``skalign.TopologicalAlignmentSpectrum`` and friends are importable from the top.
"""

__all__ = []

# Each family appends its estimators here, one line per family module.
# -- family imports --
