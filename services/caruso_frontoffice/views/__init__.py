"""View definitions: the XML view format, its schema, loading and merging.

See docs/view-format.md. ``views.rng`` in this package is the published schema.
"""
