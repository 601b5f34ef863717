"""Reductions of model tensors to 2-D representations, as scikit-learn transformers.

:class:`Flatten`, :class:`PoolTokens` and :class:`PoolSpatial` keep the rows (one
per sample); :class:`TokensAsSamples` makes every token a sample and gives the
sequence of each row as ``groups``. The functions behind them are in
:mod:`skalign.reduction`. To preprocess *both* representations of a pair (a
scikit-learn ``Pipeline`` transforms X only), wrap preprocessor and scorer in
:class:`skalign.Paired`.
"""

from .estimators.preprocessing import Flatten, PoolSpatial, PoolTokens, TokensAsSamples

__all__ = ["Flatten", "PoolTokens", "PoolSpatial", "TokensAsSamples"]
