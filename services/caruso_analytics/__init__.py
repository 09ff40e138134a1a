"""Analytical CRM: segmentation, churn risk, lead scoring and forecasts over the history
the storage holds (``caruso.analytics/1``).

The models work on a :class:`~caruso_analytics.history.History` of numpy columns, read
through the storage service (:mod:`caruso_analytics.source`) or generated with planted
drivers (:mod:`caruso_analytics.synthetic`); they are scikit-learn's, installed with the
extra ``analytics``. Public: the contract suite and the synthetic histories its
implementations are tested on.
"""

PUBLIC_MODULES = ("caruso_analytics.contract", "caruso_analytics.synthetic")
