"""Components meet only at their edges: the core imports no component, and a component
imports of another only the package itself or the modules that package declares public
(``PUBLIC_MODULES`` in its ``__init__.py``: published data contracts and SDKs)."""
import ast
import configparser
from pathlib import Path

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
    counts ``pkg.x`` when x is a module of pkg, else ``pkg``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            folder = mapping.get(node.module)
            if folder is not None:
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                          if (folder / f"{alias.name}.py").exists() or (folder / alias.name / "__init__.py").exists()]
    return found


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


def test_the_check_sees_a_crossing(tmp_path, monkeypatch):
    """The rule bites: a private import added to a component is reported with file and line."""
    spy = ROOT / "services" / "caruso_monitor" / "_crossing_probe.py"
    spy.write_text("from caruso_comm.acd import ACD\n", encoding="utf-8")
    try:
        assert "services/caruso_monitor/_crossing_probe.py:1: caruso_monitor imports caruso_comm.acd, " \
               "which caruso_comm does not declare public" in crossings()
    finally:
        spy.unlink()
