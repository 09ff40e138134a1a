"""Verticals: manifests, dependencies, overrides by layering, caruso init."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from caruso_core import ConfigError
from caruso_core.testing.commands import caruso
from caruso_core.verticals import chain, deployment_data, read

HERE = Path(__file__).parent


def make_vertical(root, name, manifest, files=()):
    package = root / f"caruso_{name}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "vertical.toml").write_text(manifest)
    for relative in files:
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text("<views/>")
    return package


@pytest.fixture
def verticals(tmp_path):
    """A base vertical and an integrator's extension, installed through entry points."""
    base = make_vertical(tmp_path, "base", """
name = "base"
version = "1.0.0"
description = "the base"
[services.echo]
use = "sample_services:Echo"
files = { views = ["views/base.xml"] }
config = { tag = "base" }
""", ["views/base.xml"])
    make_vertical(tmp_path, "acme", """
name = "acme"
version = "0.1.0"
depends = ["base"]
[services.echo]
files = { views = ["views/customer.xml"] }
config = { tag = "acme" }
""", ["views/customer.xml"])
    make_vertical(tmp_path, "old", """
name = "old"
version = "0.1.0"
depends = ["base"]
[services.echo]
config = { tag = "retired" }
""")
    info = tmp_path / "verticals-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: verticals\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[caruso.verticals]\nbase = caruso_base\nacme = caruso_acme\n"
                                          "old = caruso_old\n")
    return tmp_path, base


def run(*args, cwd, paths):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    return subprocess.run([sys.executable, "-m", "caruso_core", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_an_extension_layers_on_its_base(verticals, monkeypatch):
    root, base = verticals
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.syspath_prepend(str(HERE))
    known = {"base": read(base / "vertical.toml"), "acme": read(root / "caruso_acme" / "vertical.toml")}
    assert [v.name for v in chain(["acme"], known)] == ["base", "acme"]
    echo = deployment_data(["acme"], known)["services"]["echo"]
    assert echo["use"] == "sample_services:Echo"
    assert echo["config"]["tag"] == "acme"                           # a value: the extension wins
    assert [Path(p).name for p in echo["config"]["views"]] == ["base.xml", "customer.xml"]   # files: layered
    assert all(Path(p).is_absolute() for p in echo["config"]["views"])


def test_packaged_files_in_config_come_before_the_verticals_own(tmp_path):
    """A list named in both ``config`` (e.g. a package's views) and ``files`` is config's
    entries, then the vertical's files; anything but two lists there is refused."""
    manifest = 'name = "shop"\nversion = "1"\n[services.frontoffice]\nfiles = {{ views = ["views"] }}\nconfig = {{ views = {} }}\n'
    package = make_vertical(tmp_path, "shop", manifest.format('["caruso_frontoffice.views:sales.xml"]'),
                            ["views/shop.xml"])
    settings = read(package / "vertical.toml").service_settings()
    assert settings["frontoffice"]["config"]["views"] == ["caruso_frontoffice.views:sales.xml",
                                                          str((package / "views").resolve())]
    (package / "vertical.toml").write_text(manifest.format('"caruso_frontoffice.views:sales.xml"'))
    with pytest.raises(ConfigError, match=r"vertical.toml: \[services.frontoffice\] names views in both files and "
                                          r"config; both must be lists"):
        read(package / "vertical.toml")


def test_manifest_errors_name_file_and_key(tmp_path):
    bad = make_vertical(tmp_path, "bad", 'name = "bad"\nversion = "1"\n[services.x]\nfiles = { views = ["nope.xml"] }\n')
    with pytest.raises(ConfigError, match=r"vertical.toml: \[services.x\] files.views: nope.xml does not exist"):
        read(bad / "vertical.toml")
    (bad / "vertical.toml").write_text('name = "bad"\n')
    with pytest.raises(ConfigError, match="needs name and version"):
        read(bad / "vertical.toml")
    (bad / "vertical.toml").write_text('name = "bad"\nversion = "1"\ndepends = "utility"\n')
    with pytest.raises(ConfigError, match=r"vertical.toml: depends is a list of vertical names"):
        read(bad / "vertical.toml")
    with pytest.raises(ConfigError, match="no vertical named 'missing'"):
        chain(["missing"], {})


def test_cli_list_and_init_write_a_deployment_that_loads(verticals, tmp_path):
    root, _ = verticals
    paths = [root, HERE]
    listed = run("vertical", "list", cwd=tmp_path, paths=paths)
    assert "acme" in listed.stdout and "base" in listed.stdout, listed.stderr
    made = run("init", "acme-energy", "--vertical", "acme", "--manager-port", "17870", "--web-port", "18896",
               cwd=tmp_path, paths=paths)
    assert made.returncode == 0, made.stderr
    written = (tmp_path / "acme-energy" / "caruso.toml").read_text()
    data = tomllib.loads(written)
    assert data["services"]["echo"]["config"]["tag"] == "acme"
    assert "timezone" not in data and '\n# timezone = "Europe/Amsterdam"' in written          # how to set it
    (tmp_path / "acme-energy" / "caruso.toml").write_text(f'timezone = "Asia/Kolkata"\n{written}')
    again = run("init", "acme-energy", cwd=tmp_path, paths=paths)
    assert again.returncode == 1 and "exists and is not empty" in again.stderr
    installed = run("vertical", "install", "base", "--into", "acme-energy", cwd=tmp_path, paths=paths)
    assert installed.returncode == 0, installed.stderr
    data = tomllib.loads((tmp_path / "acme-energy" / "caruso.toml").read_text())
    assert data["services"]["echo"]["config"]["tag"] == "base"
    assert data["manager"]["uri"].endswith(":17870")                           # the ports init placed it on
    assert data["timezone"] == "Asia/Kolkata"                                   # and the zone it was given
    assert data["services"]["frontoffice"]["config"]["address"] == "http://127.0.0.1:18896"
    assert not list((tmp_path / "acme-energy").glob("*.tmp"))
    kept = (tmp_path / "acme-energy" / "caruso.toml").read_text()
    refused = run("vertical", "install", "old", "--into", "acme-energy", cwd=tmp_path, paths=paths)   # Echo's check
    assert (refused.returncode, refused.stderr) == (
        1, "error: service echo: tag 'retired' is no longer served (in acme-energy)\n")
    assert (tmp_path / "acme-energy" / "caruso.toml").read_text() == kept
    fresh = run("vertical", "install", "old", "--into", "elsewhere", cwd=tmp_path, paths=paths)
    assert fresh.returncode == 1 and not (tmp_path / "elsewhere").exists()      # refused before anything is made
    moved = run("vertical", "install", "base", "--into", "acme-energy", "--web-port", "18900", cwd=tmp_path, paths=paths)
    data = tomllib.loads((tmp_path / "acme-energy" / "caruso.toml").read_text())
    assert moved.returncode == 0 and data["services"]["frontoffice"]["config"]["address"] == "http://127.0.0.1:18900"
    assert data["manager"]["uri"].endswith(":17870")


def test_the_ports_a_deployment_file_places_its_manager_and_front_office_on(tmp_path):
    from caruso_core.deployment import placed_ports

    file = tmp_path / "caruso.toml"
    assert placed_ports(file) == (None, None)                                   # no file
    file.write_text('[manager]\nuri = "127.0.0.1:7001"\n[services.frontoffice]\nuse = "frontoffice"\n'
                    'config = { address = "http://127.0.0.1:8090" }\n')
    assert placed_ports(file) == (7001, 8090)
    file.write_text('[manager]\nuri = "127.0.0.1:7001,127.0.0.1:7002"\n')     # a group of managers: no one port
    assert placed_ports(file) == (None, None)
    file.write_text('[manager]\nuri = "nowhere"\n')
    assert placed_ports(file) == (None, None)


def test_init_of_two_verticals_that_each_make_a_whole_solution_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    """Each declares the database ``main`` in its model: the storage's check of its
    configuration says so when the deployment is written, not when it starts."""
    monkeypatch.chdir(tmp_path)
    done = caruso("init", "acme", "--vertical", "utility", "--vertical", "bank")
    assert done.exit_code == 1 and done.stdout == ""
    assert re.fullmatch(r"error: service storage: /\S+/bank/model.xml:\d+: database 'main' is declared twice\n",
                        done.stderr), done.stderr                     # the vertical's own file
    assert list(tmp_path.iterdir()) == []
    assert caruso("init", "acme", "--vertical", "bank").exit_code == 0
