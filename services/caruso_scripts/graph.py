"""A script as a Graphviz graph: DOT text, or SVG drawn by the ``dot`` program.

Steps are nodes (questions boxes, information items notes, sub-scripts components,
ends double octagons labelled with the outcome); transitions are edges labelled
with their condition and the actions they run.
"""
from __future__ import annotations

import shutil
import subprocess

from caruso_core.errors import ConfigError
from caruso_scripts.model import End, Info, Question, Script, SubScript

SHAPES = {Question: "box", Info: "note", SubScript: "component", End: "doubleoctagon"}


def quote(text: str) -> str:
    """``text`` as a DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(script: Script) -> str:
    lines = [f"digraph {quote(script.id)} {{", f"  label={quote(f'{script.title} ({script.version})')};",
             "  node [fontname=\"Helvetica\", fontsize=10];", "  edge [fontname=\"Helvetica\", fontsize=9];",
             f"  __start [shape=point]; __start -> {quote(script.start)};"]
    for step in script.steps.values():
        label = f"{step.id}\\n[{step.type if isinstance(step, Question) else step.kind}]"
        if isinstance(step, End):
            label = f"{step.id}\\n= {step.outcome}"
        if isinstance(step, SubScript):
            label = f"{step.id}\\n=> {step.script.id}"
        lines.append(f"  {quote(step.id)} [shape={SHAPES[type(step)]}, label=\"{label}\"];")
    for step in script.steps.values():
        for transition in step.transitions:
            parts = []
            if transition.condition is not None:
                parts.append(f"if {transition.condition.source}")
            parts += [f"{a.var} := {a.value.source}" for a in transition.assignments]
            parts += [f"! {a.name}" for a in transition.actions]
            label = f" [label={quote(chr(10).join(parts))}]" if parts else ""
            lines.append(f"  {quote(step.id)} -> {quote(transition.target)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(script: Script) -> str:
    """The graph drawn as SVG; a ConfigError when Graphviz's ``dot`` is not installed."""
    program = shutil.which("dot")
    if program is None:
        raise ConfigError("the 'dot' program of Graphviz is not installed; install graphviz "
                          "(e.g. apt-get install graphviz) or use --format dot")
    done = subprocess.run([program, "-Tsvg"], input=to_dot(script), capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise ConfigError(f"dot failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
    return done.stdout
