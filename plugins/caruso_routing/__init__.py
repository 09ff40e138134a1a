"""The standard ACD routing strategies, one module each, provided by :mod:`caruso_routing.plugin`."""
