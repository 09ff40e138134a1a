"""The analytics layer: churn risk, segments and clusters on the customers of any vertical."""
