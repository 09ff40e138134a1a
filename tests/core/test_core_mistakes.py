"""Typical mistakes, fed to the commands people type: each gets one clear line naming what
and where, a non-zero exit, and no traceback."""
import pytest

from caruso_core.testing.commands import caruso

BROKEN_DEPLOYMENT = '[services.storage]\nuse = "storage"\nconfg = { db = "x" }\n'


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARUSO_SECRET", "s" * 32)          # no warning about a missing secret
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    (tmp_path / "broken.toml").write_text(BROKEN_DEPLOYMENT)
    (tmp_path / "typo.toml").write_text("[services.storage\n")
    (tmp_path / "far.toml").write_text('[manager]\nuri = "PYRO:caruso.manager@127.0.0.1:99999"\n')
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    return tmp_path


MISTAKES = [
    (["serve", "frontoffice", "-c", "adress=http://127.0.0.1:8080"],
     "frontoffice: unknown configuration key(s) 'adress' (did you mean 'address'?)"),
    (["serve", "storage", "-c", "db=sqlite:////nowhere/at/all/crm.db"],
     "sqlite:////nowhere/at/all/crm.db: the folder /nowhere/at/all does not exist"),
    (["serve", "storage", "-c", "db=crm.db"], "'crm.db' is not a database URL"),
    (["serve", "stroage"], "no service implementation named 'stroage'"),
    (["serve", "storage", "--drain-timeout", "nan"], "'nan' is not a finite number"),
    (["serve", "storage", "--drain-timeout", "1e9"], "1000000000.0 is not in the range 0<=x<=3600"),
    (["serve", "storage", "--config-json", "{not json"], "--config-json is not valid JSON"),
    (["up", "broken.toml"], "broken.toml: [services.storage]: unknown key(s) confg"),
    (["up", "typo.toml"], "typo.toml: "),
    (["up", "missing.toml"], "missing.toml: no such file"),
    (["init", "taken"], "taken exists and is not empty"),
    (["services", "--manager", "127.0.0.1"], "--manager '127.0.0.1': give HOST:PORT"),
    (["services", "--manager", "127.0.0.1:99999"], "--manager 'PYRO:caruso.manager@127.0.0.1:99999': give HOST:PORT "
                                                   "(a port from 1 to 65535"),
    (["up", "far.toml"], "far.toml: [manager] uri 'PYRO:caruso.manager@127.0.0.1:99999': give HOST:PORT"),
    (["report", "incoming-calls", "--db", "sqlite:///nothing-here.db"], "no such file"),
    (["report", "incoming-calls", "--db", "events.db"], "'events.db' is not a database URL"),
    (["serve", "monitor", "-c", "db=events.db"], "'events.db' is not a database URL"),
    (["report", "incoming-cals", "--db", "sqlite:///x.db"], "no report definition 'incoming-cals'"),
    (["script", "validate", "nosuch.xml"], "nosuch.xml: cannot read"),
    (["model", "validate", "nosuch.xml"], "nosuch.xml"),
    (["frontoffice", "user", "add", "anna", "--role", "boss"], "boss"),
    (["model", "inspect", "sqlite:///typo.db"], "no such database file"),
    (["model", "inspect", "typo.db"], "'typo.db' is not a database URL"),
]


@pytest.mark.parametrize("arguments, says", MISTAKES, ids=[" ".join(a[:2]) + f"-{n}" for n, (a, _) in enumerate(MISTAKES)])
def test_a_mistake_is_one_line_and_a_failing_exit(folder, arguments, says):
    ran = caruso(*arguments)
    assert ran.exit_code != 0
    assert "Traceback" not in ran.output
    errors = [line for line in ran.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and errors[0].startswith("error: "), ran.output
    assert says in ran.output
    assert not (folder / "typo.db").exists()                  # nothing made on the way


@pytest.mark.parametrize("data, says", [
    ("data", "the data folder {folder}/data is a file: move it away, or name another folder with CARUSO_DATA"),
    ("data/inner", "the data folder {folder}/data/inner cannot be made (File exists: {folder}/data)"),
])
def test_a_data_folder_that_cannot_be_one_is_one_line_before_anything_starts(folder, monkeypatch, data, says):
    (folder / "data").write_text("")                   # a file where the data folder should be
    monkeypatch.setenv("CARUSO_DATA", str(folder / data))
    ran = caruso("up")
    assert ran.exit_code == 1 and ran.stderr == f"error: {says.format(folder=folder)}\n", ran.output
