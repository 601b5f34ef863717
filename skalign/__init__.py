"""skalign: compare and diagnose neural-network representations across scales.

Functions live in :mod:`skalign.metrics` (one implementation per measure);
estimators that wrap them for scikit-learn pipelines, cross-validation and grid
search are importable from the top level.
"""

__version__ = "0.1.0"

from . import datasets, extract, metrics, neighbors, plotting, preprocessing, reduction, topology  # noqa: E402,F401
from ._checkpoint import CheckpointWarning  # noqa: E402
from ._validation import RepresentationWarning  # noqa: E402
from .matrix import alignment_matrix, pivot_alignment, plot_alignment_matrix  # noqa: E402
from . import inference  # noqa: E402,F401
from .inference import bootstrap, calibrated_layers, calibrated_score, compare, permutation_test  # noqa: E402
from .estimators import *  # noqa: E402,F401,F403
from .estimators import __all__ as _estimator_names  # noqa: E402

__all__ = ["metrics", "__version__", *_estimator_names]
__all__ += ["alignment_matrix", "pivot_alignment", "plot_alignment_matrix"]
__all__ += ["inference", "permutation_test", "bootstrap", "compare", "calibrated_score", "calibrated_layers"]
__all__ += ["CheckpointWarning", "RepresentationWarning"]
