"""BuresScorer: normalized Bures similarity as a paired scorer."""

from __future__ import annotations

from ..base import BasePairedScorer
from ..bures import BURES_PARAMETER_CONSTRAINTS, PreparedBures, combine_bures, prepare_bures

__all__ = ["BuresScorer"]


class BuresScorer(BasePairedScorer):
    """Normalized Bures similarity (NBS) between two representations of the same samples.

    The fidelity of the centred linear kernels,
    tr((K^½ L K^½)^½) / √(tr K · tr L) (Tang et al. 2020), computed in feature space
    as the nuclear norm of Xᶜᵀ Yᶜ over ‖Xᶜ‖_F ‖Yᶜ‖_F. It equals the in-sample
    cos θ of ``ProcrustesScorer(alpha=1)``, the cosine of the Riemannian shape
    distance (Harvey, Larsen & Williams 2024). The single implementation is
    :func:`skalign.metrics.normalized_bures_similarity`; see :mod:`skalign.bures`.

    NBS learns nothing: ``fit`` checks the input and records the widths, and
    ``score`` is the NBS of the rows given (unlike ``ProcrustesScorer``, which
    learns a rotation on training rows and applies it to held-out rows).

    Parameters
    ----------
    center : bool, default=True
        Centre the columns first (as Tang et al. do); False compares the raw
        linear kernels and drops the invariance to translation.

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    Score range [0, 1]; 1 iff Y equals X up to rotation, uniform scale and
    translation. Its chance level for independent representations is above 0
    and grows with the widths relative to the number of samples.

    References
    ----------
    Tang, Maddox, Dickens, Diethe & Damianou (2020). Similarity of neural networks
    with gradients. arXiv:2003.11498.
    Harvey, Larsen & Williams (2024). Duality of Bures and shape distances with
    implications for comparing neural representations. UniReps, PMLR 243.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import BuresScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    >>> round(BuresScorer().fit(X, X @ Q).score(X, X @ Q), 10)
    1.0
    """

    _parameter_constraints: dict = {**BURES_PARAMETER_CONSTRAINTS}

    def __init__(self, center=True):
        self.center = center

    def _metadata(self):
        rest = ("isotropic_scaling", "orthogonal", "permutation", "sample_permutation")
        return {
            "score_range": (0.0, 1.0),
            "invariances": ("translation",) + rest if self.center else rest,
            "symmetric": True,
            "stateless": True,
        }

    def _fit(self, X, Y):
        if self.center:
            self._check_pair_varies(X, Y)

    def prepare(self, X, name="X"):
        """Centred rows of one representation (an n x n QR factor when it is wider than long).

        Returns
        -------
        skalign.bures.PreparedBures
        """
        self._validate_params()
        return prepare_bures(X, center=self.center, name=name)

    def combine(self, PX, PY):
        """NBS of two prepared representations (one product and its singular values)."""
        self._check_prepared_settings(PreparedBures, (PX, PY), center=bool(self.center))
        return combine_bures(PX, PY)
