"""The markers of caruso's in-process extension points, and how plugins are merged.

Each component declares its own hooks in a module of ``@hookspec`` functions, found
through the entry point group ``caruso.hookspecs`` (``name = package.module``), e.g.
``caruso_comm.hookspecs`` (routing strategies, channels, dialers). A plugin is a module (or
object) with functions marked ``@caruso_core.hookimpl`` and named after hooks; it is
found through the entry point group ``caruso.plugins``. The standard plugins of caruso
are registered exactly that way.

Every caruso hook returns a mapping from a name to the thing provided. Mappings are
merged by precedence, not by install order: a standard plugin marks its hooks
``@hookimpl(trylast=True)`` (defaults), so any other plugin overrides it; a plugin
that must win over other third-party plugins marks its hooks ``tryfirst=True``. Two
plugins of the same precedence providing the same name are reported (a warning naming
both), and the one registered later wins.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("caruso")
hookimpl = pluggy.HookimplMarker("caruso")
