"""Ratio benchmarks of caruso; run from the checkout with ``python -m benchmarks [NAME ...]``."""
