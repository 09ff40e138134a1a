"""What a script needs of whoever starts it: the context names read by the keys of its
required bindings (those without ``required="false"``), sub-scripts included (whose context
adds their parameters). For a starter (the front office's desk and portal) checking, without
running the scripts service, that the scripts it starts can start with the context it gives.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from caruso_core import plugins
from caruso_scripts.service import load_library


def unmet_context(sources: Iterable[str | Path], starts: Iterable[tuple[str, str, frozenset[str]]]) -> list[str]:
    """One line per problem of ``starts`` (``(where, script id, context names given)``) with
    the scripts of ``sources`` (files and folders, as the scripts service reads them): a
    script that is not there, or a required binding reading a context name not given.
    ConfigError when a source cannot be read."""
    library = load_library(sources, plugins.provided("caruso_script_actions"))
    problems = []
    for where, script_id, supplied in starts:
        script = library.get(script_id)
        if script is None:
            problems.append(f"{where} starts script {script_id!r}, which the scripts service does not have")
            continue
        problems += [f"{read.source}:{binding.line}: binding {binding.name!r} needs context.{name}, which "
                     f"{where} does not give (it gives {', '.join(sorted(supplied))})"
                     for read, binding, name in script.context_reads(supplied)]
    return problems
