"""Components meet only at their edges: the core imports no component, and a component
imports of another only the package itself or the modules that package declares public
(``PUBLIC_MODULES`` in its ``__init__.py``: published data contracts and SDKs)."""
import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def packages() -> dict[str, Path]:
    """Every installed caruso package and its folder, from setup.cfg."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    mapping = {}
    for line in config["options"]["package_dir"].strip().splitlines():
        name, _, folder = (part.strip() for part in line.partition("="))
        mapping[name] = ROOT / folder
    return mapping


def public_modules(folder: Path) -> set[str]:
    tree = ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PUBLIC_MODULES" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def imported_modules(path: Path, mapping: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of a module in a file (``from pkg import x``
    counts ``pkg.x`` when x is a module of pkg, else ``pkg``), and of every module reached as
    an attribute of an imported package (``import pkg`` then ``pkg.x.y``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in mapping:
            if is_module(mapping[node.value.id], node.attr):
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            folder = mapping.get(node.module)
            if folder is not None:
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                          if is_module(folder, alias.name)]
    return found


def is_module(folder: Path, name: str) -> bool:
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def crossings() -> list[str]:
    mapping = packages()
    components = {name for name in mapping if name != "caruso_core" and "." not in name}
    public = {name: public_modules(mapping[name]) for name in components}
    problems = []
    for owner, folder in mapping.items():
        if "." in owner:
            continue
        for path in sorted(folder.rglob("*.py")):
            for line, module in imported_modules(path, mapping):
                target = module.split(".")[0]
                if target not in components or target == owner:
                    continue
                where = f"{path.relative_to(ROOT)}:{line}"
                if owner == "caruso_core":
                    problems.append(f"{where}: the core imports the component {module}")
                elif module != target and module not in public[target]:
                    problems.append(f"{where}: {owner} imports {module}, which {target} does not declare public")
    return problems


def test_components_import_only_each_others_public_modules():
    assert crossings() == []


@pytest.mark.parametrize("source, line", [("from caruso_comm.acd import ACD\n", 1),
                                          ("import caruso_comm\n\nACD = caruso_comm.acd.ACD\n", 3)])
def test_the_check_sees_a_crossing(source, line):
    """The rule bites: a private module imported, or reached through its package, by another
    component is reported with file and line."""
    spy = ROOT / "services" / "caruso_monitor" / "_crossing_probe.py"
    spy.write_text(source, encoding="utf-8")
    try:
        assert f"services/caruso_monitor/_crossing_probe.py:{line}: caruso_monitor imports caruso_comm.acd, " \
               "which caruso_comm does not declare public" in crossings()
    finally:
        spy.unlink()
