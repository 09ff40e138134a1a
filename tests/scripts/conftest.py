"""Fixtures of the script engine tests: script files in tmp_path, engines over in-memory storage."""
import datetime
import socket
import threading
import time
from pathlib import Path

import pytest

from caruso_scripts import loader
from caruso_scripts.engine import STORAGE, Engine
from caruso_scripts.memory_storage import MemoryStorage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "utility" / "scripts"
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def script_file(tmp_path):
    """Write a script body (inside <script>) or a whole document to a file; returns its path."""
    def write(text, name="s.xml", whole=False):
        if not whole:
            text = f'<?xml version="1.0"?>\n<script id="t" version="1">\n{text}\n</script>\n'
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture
def script_folder(tmp_path):
    """Write whole script documents, by file name (without ``.xml``), to the folder ``scripts``;
    returns the folder."""
    def write(**documents):
        folder = tmp_path / "scripts"
        folder.mkdir(exist_ok=True)
        for name, text in documents.items():
            (folder / f"{name}.xml").write_text(text, encoding="utf-8")
        return folder
    return write


class Recorder:
    """Actions that record their calls; ``fail`` makes the named action raise."""

    def __init__(self):
        self.calls = []
        self.fail = set()

    def action(self, name):
        def run(context, **params):
            if name in self.fail:
                raise RuntimeError(f"{name} is down")
            self.calls.append((name, context.key, params))
            return {"ok": name}
        return run


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def customers():
    return MemoryStorage({"Customer": {"types": {"balance": "decimal"}, "records": [
        {"id": 1, "name": "Ann Smith", "email": "ann@example.org", "city": "Springfield",
         "meter_no": "E-4711", "last_reading": 12000, "balance": "600.00"}]}})


@pytest.fixture
def make_engine(recorder, customers):
    def make(*paths, actions=("store", "email", "contact", "note", "call")):
        scripts = {}
        for path in paths:
            script = loader.load(path)
            scripts[script.id] = script
        return Engine(scripts, actions={name: recorder.action(name) for name in actions},
                      service=lambda key: customers if key == STORAGE else None, today=lambda: TODAY)
    return make


@pytest.fixture
def serve_app():
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; returns its base URL."""
    servers = []

    def serve(app):
        import uvicorn
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield serve
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(30)
        sock.close()


NOTIFY = """<?xml version="1.0"?>
<script id="notify" version="1">
  <question id="address" type="text" maxlength="200"><prompt>Your e-mail address?</prompt>
    <validate rule="'@' in address">That is not an e-mail address.</validate>
    <go to="sent">
      <action name="email">
        <param name="to" value="address"/>
        <param name="subject">Hello from {context.company}</param>
        <param name="body">We will call you back on {add_days(date('2026-03-02'), 1)}.</param>
      </action>
    </go>
  </question>
  <end id="sent" outcome="sent"/>
</script>
"""
FAST_OUTBOX = {"backoff": 0.05, "backoff_max": 0.4}


@pytest.fixture
def notify_script(tmp_path):
    """The file of the script ``notify``: a question for an address, and an ``email`` action to it."""
    path = tmp_path / "notify.xml"
    path.write_text(NOTIFY)
    return path


@pytest.fixture
def mail_engines(tmp_path, notify_script):
    """Make script services running the script ``notify`` on one database, their mail going
    to 127.0.0.1:PORT; started unless told otherwise (their sender runs), all stopped at
    the end."""
    from caruso_scripts.service import ScriptService

    made = []

    def make(port, started=True, outbox=None, **settings):
        engine = ScriptService(scripts=str(notify_script), db=f"sqlite:///{tmp_path / 'mail.db'}",
                               settings={"smtp_host": "127.0.0.1", "smtp_port": port, **settings},
                               outbox=FAST_OUTBOX if outbox is None else outbox)
        made.append(engine)
        if started:
            engine.start()
        return engine
    yield make
    for engine in made:
        engine.stop()


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
             pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """A SQLite file, a fresh PostgreSQL database, a fresh MariaDB database: each test once on each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scripts.db'}"
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_database")
