"""CKNNA: centered kernel alignment restricted to mutual nearest neighbours (Huh et al. 2024).

Huh et al. [1]_ measure how far two representations agree on *local* similarity:
CKA computed only over the pairs of samples that are among each other's k nearest
neighbours in both. With the cosine kernels :math:`K_{ij} = \\langle \\hat x_i, \\hat x_j\\rangle`
and :math:`L_{ij} = \\langle \\hat y_i, \\hat y_j\\rangle` of the L2-normalised rows (as in
the authors' code, which normalises the features first), and
:math:`\\alpha^K_{ij} = 1` when :math:`j \\ne i` is among the k largest :math:`K_{i\\cdot}`
(the k nearest cosine neighbours of i),

.. math::

    \\mathrm{CKNNA}(K, L) = \\frac{\\mathrm{HSIC}_u(\\alpha^K \\alpha^L \\circ K,\\; \\alpha^K \\alpha^L \\circ L)}
        {\\sqrt{\\mathrm{HSIC}_u(\\alpha^K \\circ K,\\; \\alpha^K \\circ K)\\;
               \\mathrm{HSIC}_u(\\alpha^L \\circ L,\\; \\alpha^L \\circ L)}},

with the unbiased HSIC estimator (Song et al. [2]_) of matrices :math:`A, B` with zero diagonal,

.. math::

    \\mathrm{HSIC}_u(A, B) = \\frac{1}{n(n-3)} \\Bigl[\\sum_{ij} A_{ij} B_{ji}
        + \\frac{\\mathbf 1^\\top A \\mathbf 1\\, \\mathbf 1^\\top B \\mathbf 1}{(n-1)(n-2)}
        - \\frac{2}{n-2} \\mathbf 1^\\top A B \\mathbf 1\\Bigr].

The neighbours are those of the kernel itself: the k largest entries of each row
of K, which for the cosine kernel are the k nearest cosine neighbours. With
``metric='ip'`` the kernels are the raw inner products :math:`K_{ij} = x_i \\cdot x_j`,
:math:`L_{ij} = y_i \\cdot y_j` of the features as given, and the masks their k
largest entries per row (self excluded): the authors' function applied to features
that were not normalised. The default ``'cosine'`` is their pipeline, which
normalises first. Neither kernel is centred before the neighbours are taken; the
centring is inside HSIC.

Every term needs only the kernel values at neighbour pairs, so the computation is
:math:`O(nk)` after the neighbour search (skalign's neighbour layer, exact or
approximate, the one TAS uses): no :math:`n \\times n` kernel is formed. The authors'
code adds :math:`10^{-6}` to the denominator; this module does not, so values differ
from theirs by about :math:`10^{-6}` relative. Their top-k order among exactly tied
similarities is arbitrary; here ties are broken by sample index.

The masked matrices are not symmetric, so HSIC is not an inner product here: the
score has no hard bound (in practice it lies in [-1, 1]) and swapping X and Y
changes it slightly, through the term :math:`\\mathbf 1^\\top A B \\mathbf 1`. It is 1 for
identical cosine kernels and near 0 for independent representations.

References
----------
.. [1] Huh, M., Cheung, B., Wang, T. & Isola, P. (2024). The platonic representation
   hypothesis. ICML, PMLR 235.
.. [2] Song, L., Smola, A., Gretton, A., Bedo, J. & Borgwardt, K. (2012). Feature selection
   via dependence maximization. JMLR 13, 1393-1434.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_n_neighbors, check_prepared_pair, check_same_samples
from .neighbors import NEIGHBOR_PARAMETER_CONSTRAINTS, prepare_search, resolve_algorithm, search_kneighbors

__all__ = [
    "CKNNA_METRICS",
    "CKNNA_PARAMETER_CONSTRAINTS",
    "PreparedCKNNA",
    "prepare_cknna",
    "combine_cknna",
    "cknna",
]

#: Kernels CKNNA takes its neighbours from: cosine (rows L2-normalised) or raw inner products.
CKNNA_METRICS = ("cosine", "ip")

CKNNA_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "metric": [StrOptions(set(CKNNA_METRICS))],
    "algorithm": NEIGHBOR_PARAMETER_CONSTRAINTS["algorithm"],
    "random_state": NEIGHBOR_PARAMETER_CONSTRAINTS["random_state"],
    "n_jobs": NEIGHBOR_PARAMETER_CONSTRAINTS["n_jobs"],
}

# the unbiased HSIC divides by n - 3
_MIN_SAMPLES = 4


@dataclass
class PreparedCKNNA:
    """One representation ready for :func:`combine_cknna`.

    ``kernel`` is the sparse (n x n, CSR) cosine (or, for ``metric='ip'``, inner
    product) kernel restricted to each row's k nearest neighbours (self excluded);
    ``self_term`` is its unbiased HSIC with itself.
    """

    kernel: sp.csr_matrix
    self_term: float
    n_neighbors: int
    algorithm: str
    name: str
    metric: str = "cosine"

    @property
    def n_samples(self):
        return self.kernel.shape[0]


def _hsic_unbiased(A, B):
    """HSIC_u of two sparse matrices with zero diagonal (see the module docstring)."""
    n = A.shape[0]
    trace_term = float(A.multiply(B.T).sum())
    sums = float(A.sum()) * float(B.sum()) / ((n - 1) * (n - 2))
    # 1^T A B 1 = (column sums of A) . (row sums of B)
    cross = float(np.asarray(A.sum(axis=0)).ravel() @ np.asarray(B.sum(axis=1)).ravel())
    return (trace_term + sums - 2.0 * cross / (n - 2)) / (n * (n - 3))


def _prepare(X, n_neighbors, algorithm, random_state, n_jobs, name, metric="cosine"):
    P = prepare_search(X, metric, name=name, min_samples=_MIN_SAMPLES, check_structure=True)
    n = P.n_samples
    k = check_n_neighbors(n_neighbors, n, name="n_neighbors")
    backend = resolve_algorithm(algorithm, n, metric)
    _, ind = search_kneighbors(P, k, backend, random_state=random_state, n_jobs=n_jobs)
    # kernel values at the neighbour pairs, as dot products of the prepared rows
    vals = np.einsum("ij,ikj->ik", P.points, P.points[ind])
    if metric == "ip":  # the rows were scaled by 2**-exponent, exactly
        vals = np.ldexp(vals, 2 * P.exponent)
    K = sp.csr_matrix((vals.ravel(), ind.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    self_term = _hsic_unbiased(K, K)
    if not self_term > 0.0:
        raise ValueError(
            f"The unbiased HSIC of {name}'s neighbour-masked kernel with itself is {self_term:.3g}, "
            f"not positive, so CKNNA is undefined; use a larger n_neighbors (got {k})."
        )
    return PreparedCKNNA(K, float(self_term), k, str(algorithm), name, metric)


@validate_params(
    {"X": "no_validation", "name": [str], **CKNNA_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True
)
def prepare_cknna(X, n_neighbors=10, *, metric="cosine", algorithm="auto", random_state=None, n_jobs=None,
                  name="X"):
    """Per-representation work of CKNNA: the neighbour search and the masked kernel.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_neighbors, metric, algorithm, random_state, n_jobs
        See :func:`cknna`.
    name : str, default='X'

    Returns
    -------
    PreparedCKNNA
    """
    return _prepare(X, n_neighbors, algorithm, random_state, n_jobs, name, metric)


def combine_cknna(PX, PY):
    """CKNNA of two results of :func:`prepare_cknna` (sparse work of O(nk))."""
    check_prepared_pair(PX, PY, PreparedCKNNA, ("n_neighbors", "metric", "algorithm"), "combine_cknna")
    # the kernels on the pairs that are neighbours in both
    mask_y = PY.kernel.copy()
    mask_y.data[:] = 1.0
    mask_x = PX.kernel.copy()
    mask_x.data[:] = 1.0
    Km = PX.kernel.multiply(mask_y).tocsr()
    Lm = PY.kernel.multiply(mask_x).tocsr()
    return float(_hsic_unbiased(Km, Lm) / np.sqrt(PX.self_term * PY.self_term))


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **CKNNA_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def cknna(X, Y, n_neighbors=10, *, metric="cosine", algorithm="auto", random_state=None, n_jobs=None):
    """Centered kernel nearest-neighbour alignment of two representations [1]_.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i); at least 4.
    n_neighbors : int, default=10
        Neighbours per sample, self excluded, in [1, n_samples - 1].
    metric : {'cosine', 'ip'}, default='cosine'
        The kernel, and so the neighbours: cosine similarities of the L2-normalised
        rows, or raw inner products (exact search only; see the module docstring).
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour search, as in :func:`skalign.neighbors.kneighbors`.
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search.

    Returns
    -------
    score : float
        1 for identical representations, near 0 for independent ones.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import cknna
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> round(cknna(X, 3 * X, n_neighbors=10), 12)
    1.0
    """
    PX = _prepare(X, n_neighbors, algorithm, random_state, n_jobs, "X", metric)
    PY = _prepare(Y, n_neighbors, algorithm, random_state, n_jobs, "Y", metric)
    check_same_samples(PX.n_samples, PY.n_samples)
    return combine_cknna(PX, PY)
