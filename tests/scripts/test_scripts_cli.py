"""``caruso script``: validate, lint, graph, test, new, run (and the mail of its dialog, through a real SMTP
server); and the example scripts through it."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.errors import CarusoError
from caruso_core.testing.mail import SmtpServer


class Ran:
    def __init__(self, exit_code, output):
        self.exit_code, self.output = exit_code, output


def caruso(*args, input=None):
    """Run ``caruso script ARGS`` in process as the console script does: a CarusoError is 'error: ...', exit 1."""
    result = CliRunner().invoke(cli, ["script", *map(str, args)], input=input, standalone_mode=False)
    if isinstance(result.exception, CarusoError):
        return Ran(1, result.output + f"error: {result.exception}\n")
    if result.exception is not None:
        raise result.exception
    return Ran(result.exit_code, result.output)


def test_the_console_script_prints_one_error_line(script_file):
    path = script_file('<end id="e" outcome="x"/><end id="e" outcome="y"/>')
    done = subprocess.run([sys.executable, "-m", "caruso_core", "script", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "'e' is defined twice" in done.stdout
    assert done.stderr == "error: 1 problem(s) in 1 file(s)\n"


def test_every_example_validates_lints_clean_and_passes_its_script_tests(examples):
    scripts = sorted(examples.glob("*.xml"))
    tests = sorted(examples.glob("*.test.toml"))
    assert {p.name for p in scripts} >= {"moving-house.xml", "meter-reading.xml", "payment-arrangement.xml",
                                         "outage-report.xml"}
    assert {p.name for p in tests} >= {"moving-house.test.toml", "meter-reading.test.toml",
                                       "payment-arrangement.test.toml", "outage-report.test.toml"}
    validated = caruso("validate", *scripts)
    assert validated.exit_code == 0, validated.output
    assert validated.output.count(": valid") == len(scripts)
    linted = caruso("lint", *scripts)
    assert linted.exit_code == 0, linted.output
    tested = caruso("test", *tests)
    assert tested.exit_code == 0, tested.output
    assert "FAIL" not in tested.output and tested.output.count("PASS") >= 15


def test_validate_reports_every_problem_and_fails(script_file):
    path = script_file('<var name="v" value="nope"/>\n<info id="i"><text>x</text><go to="gone"/></info>'
                       '<end id="e" outcome="x"/>')
    result = caruso("validate", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{path}:3: <var value=\"nope\">: unknown name 'nope'; known: context, v (column 1)"
    assert f"{path}:4: step 'i' goes to 'gone'" in lines[1]
    assert lines[-1] == "error: 2 problem(s) in 1 file(s)"


def test_validate_knows_the_installed_actions(script_file):
    path = script_file('<info id="i"><text>x</text><go to="e"><action name="fax"/></go></info><end id="e" outcome="x"/>')
    result = caruso("validate", path)
    assert result.exit_code == 1
    assert "unknown action 'fax' (installed actions: call, contact, email, store)" in result.output


def test_lint_finds_unreachable_steps_dead_ends_and_unused_answers(script_file):
    path = script_file("""<var name="unused"/>
<question id="q" type="yesno"><prompt>?</prompt><go to="loop" if="q"/></question>
<question id="loop" type="number"><prompt>?</prompt><go to="loop"/><go to="e"/></question>
<end id="e" outcome="x"/>
<end id="orphan" outcome="y"/>""")
    result = caruso("lint", path)
    assert result.exit_code == 1
    out = result.output
    assert f"{path}:7: step 'orphan' is never reached from the start 'q'" in out
    assert f"{path}:4: step 'q' can be a dead end" in out
    assert f"{path}:5: this <go> of step 'loop' is never taken" in out
    assert f"{path}:6: step 'e' is never reached from the start 'q'" in out
    assert f"{path}:4: no end step can be reached from step 'q'" in out
    assert f"{path}:5: no end step can be reached from step 'loop'" in out
    assert f"{path}:5: the answer to question 'loop' is never used" in out
    assert f"{path}:3: variable 'unused' is never read" in out
    assert out.splitlines()[-1] == "error: 8 finding(s) in 1 file(s)"


def test_graph_as_dot_and_svg(examples, tmp_path):
    dot = caruso("graph", examples / "moving-house.xml")
    assert dot.exit_code == 0
    assert dot.output.startswith('digraph "moving_house" {')
    assert '"confirm_move" -> "moved" [label="if confirm_move\\n! store\\n! store\\n! store\\n! email\\n! contact"];' in dot.output
    assert '"moved" [shape=doubleoctagon' in dot.output
    if shutil.which("dot") is None:
        result = caruso("graph", examples / "moving-house.xml", "--format", "svg")
        assert result.exit_code == 1 and "Graphviz is not installed" in result.output
    else:
        target = tmp_path / "moving.svg"
        result = caruso("graph", examples / "moving-house.xml", "--format", "svg", "-o", target)
        assert result.exit_code == 0
        assert "<svg" in target.read_text() and "confirm_move" in target.read_text()


def test_graph_without_dot_is_a_clear_error(examples, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = caruso("graph", examples / "moving-house.xml", "--format", "svg")
    assert result.exit_code == 1
    assert "error: the 'dot' program of Graphviz is not installed" in result.output


def test_script_test_reports_failures(examples, tmp_path):
    for name in ("meter-reading.xml",):
        shutil.copy(examples / name, tmp_path / name)
    spec = tmp_path / "wrong.test.toml"
    spec.write_text('script = "meter-reading.xml"\ntoday = 2026-03-02\ncontext = { customer_id = 7 }\n'
                    '[[storage.Customer.records]]\nid = 7\nname = "Bo"\n'
                    '[[storage.Connection.records]]\nid = 70\ncustomer_id = 7\n'
                    '[[storage.Meter.records]]\nid = 700\nconnection_id = 70\nmeter_no = "E"\nregisters = 1\n'
                    '[storage.MeterReading]\ntypes = { normal = "decimal" }\n'
                    '[[storage.MeterReading.records]]\nid = 1\nmeter_id = 700\nread_on = 2026-01-01\nnormal = "100.0"\n'
                    '[[case]]\nname = "wrong outcome"\noutcome = "cancelled"\nvariables = { consumption = 5 }\n'
                    'actions = [ { name = "email" } ]\nanswers = { reading = 200, submit = true, extra = 1 }\n'
                    '[[case]]\nname = "missing answer"\nanswers = { reading = 200 }\n'
                    '[[case]]\nname = "rejected answer"\nanswers = { reading = -5 }\n')
    result = caruso("test", spec)
    assert result.exit_code == 1
    out = result.output
    assert "FAIL" in out and "wrong outcome" in out
    assert "outcome is 'recorded', expected 'cancelled'" in out
    assert "variable consumption is '100.0', expected 5" in out
    assert "actions were ['store'], expected ['email']" in out
    assert "answers never asked for: extra" in out
    assert "no answer given for question 'submit'" in out
    assert "answer -5 to 'reading' was not accepted: Please enter a value of at least 0." in out
    assert out.splitlines()[-1] == "error: 3 of 3 script test case(s) failed"


def test_script_test_with_a_broken_file_is_one_line(tmp_path):
    spec = tmp_path / "broken.test.toml"
    spec.write_text("script = \n")
    result = caruso("test", spec)
    assert result.exit_code == 1 and result.output.startswith(f"error: {spec}: ")


@pytest.mark.parametrize("written, says", [
    ("case = [1, 2]", "case must be a list of tables ([[case]]), not '[1, 2]'"),
    ('case = "hello"', "case must be a list of tables ([[case]]), not 'hello'"),
    ("context = 5\n[[case]]", "context must be a table, not '5'"),
    ("[[case]]\nanswers = \"topic\"", "case 1: answers must be a table, not 'topic'"),
    ('[[case]]\nsteps = "welcome"', "case 1: steps must be a list of step ids, not 'welcome'"),
    ("[[case]]\nvariables = [1]", "case 1: variables must be a table, not '[1]'"),
    ("[[case]]\nactions = 3", "case 1: actions must be a list of tables, not '3'"),
    ("[[case]]\nactions = [{ params = {} }]", "case 1: each of actions is a table with a name and its params"),
])
def test_script_test_says_which_value_of_a_file_has_the_wrong_kind(examples, tmp_path, written, says):
    """Values of the wrong kind were tracebacks (case = [1, 2]) or read letter by letter (steps = "welcome")."""
    shutil.copy(examples / "meter-reading.xml", tmp_path / "meter-reading.xml")
    spec = tmp_path / "kinds.test.toml"
    spec.write_text(f'script = "meter-reading.xml"\n{written}\n')
    result = caruso("test", spec)
    assert result.exit_code == 1 and result.output == f"error: {spec}: {says}\n"


def test_new_writes_a_valid_lint_clean_script(tmp_path):
    target = tmp_path / "callback.xml"
    result = caruso("new", "callback", "--title", "Call back <soon> & co", "-o", target)
    assert result.exit_code == 0, result.output
    assert caruso("validate", target).exit_code == 0
    assert caruso("lint", target).exit_code == 0
    assert 'title="Call back &lt;soon&gt; &amp; co"' in target.read_text() or "&lt;soon" in target.read_text()
    again = caruso("new", "callback", "-o", target)
    assert again.exit_code == 1 and "exists already" in again.output
    assert "is invalid" in caruso("new", "bad-id", "-o", tmp_path / "x.xml").output


def test_run_in_the_terminal(examples, tmp_path):
    data = tmp_path / "data.toml"
    data.write_text('[[storage.Customer.records]]\nid = 1\nname = "Ann"\nemail = "ann@example.org"\n'
                    '[[storage.Connection.records]]\nid = 2\ncustomer_id = 1\nstreet = "Main Street"\n'
                    'house_no = "1"\ncity = "Springfield"\n'
                    '[[storage.Meter.records]]\nid = 3\nconnection_id = 2\nmeter_no = "E-1"\n')
    typed = "\n".join(["", "2026-02-01", "2026-04-01", "maybe", "1", "2", ":back", "1", "1234",
                       "2026-04-02", "yes"]) + "\n"
    result = caruso("run", examples / "moving-house.xml", "-c", "customer_id=1", "--data", data, "--dry-run",
                    "--today", "2026-03-02", input=typed)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Hello Ann. We will help you with your move from Main Street 1 in Springfield." in out
    assert "! Please enter a value of at least 2026-03-02." in out
    assert "! Please answer yes or no." in out
    assert "[action store: {'object': 'ServiceOrder'" in out and "[action email:" in out
    assert "-- ended: moved" in out


def test_run_can_be_quit(examples, tmp_path):
    data = tmp_path / "data.toml"
    data.write_text('[[storage.Customer.records]]\nid = 9\nname = "Flo"\n')
    result = caruso("run", examples / "outage-report.xml", "-c", "customer_id=9", "--data", data, "--dry-run",
                    input="2\n:quit\n")
    assert result.exit_code == 0
    assert "What are the four digits of your postcode?" in result.output    # a caller without a connection
    assert "-- abandoned" in result.output


def test_run_sends_the_mail_of_the_dialog_when_it_ends(notify_script, smtp_server):
    result = caruso("run", notify_script, "-c", "company=Springfield Power", "-s", f"smtp_port={smtp_server.port}",
                    "-s", "mail_from=desk@utility.example", input="ann@example.org\n")
    assert result.exit_code == 0, result.output
    assert "[action email: {'to': 'ann@example.org', 'subject': 'Hello from Springfield Power'," in result.output
    assert result.output.endswith("-- ended: sent\nmail 1 to ann@example.org 'Hello from Springfield Power': sent\n")
    [message] = smtp_server.messages
    assert (message["To"], message["From"]) == ("ann@example.org", "desk@utility.example")
    assert message["Message-ID"] == f"<{message['X-Caruso-Action'].replace(':', '.')}@caruso>"


TWO_MAILS = """<info id="hello"><text>Hello.</text><go to="bye">
    <action name="email"><param name="to">ann@example.org</param><param name="subject">One</param>
      <param name="body">1</param></action>
    <action name="email"><param name="to">bob@example.org</param><param name="subject">Two</param>
      <param name="body">2</param></action></go></info>
  <end id="bye" outcome="done"/>"""


def test_run_says_which_mail_was_not_sent_and_a_kept_outbox_sends_it_on_the_next_run(notify_script, script_file,
                                                                                   tmp_path):
    down = SmtpServer()                         # nothing listens on its port yet
    lost = caruso("run", script_file(TWO_MAILS), "-s", f"smtp_port={down.port}", input="\n")
    assert lost.exit_code == 1
    assert lost.output.split("-- ended: done\n")[1] == (
        f"mail 1 to ann@example.org 'One': left queued: 127.0.0.1:{down.port}: nothing takes mail there "
        "(connection refused): is the mail relay running?\n"
        "mail 2 to bob@example.org 'Two': left queued, not tried in this pass\n"
        "error: 2 of 2 message(s) not sent; the outbox was temporary: give --outbox URL to keep them\n")
    outbox = f"sqlite:///{tmp_path / 'outbox.db'}"
    down.start()
    try:
        down.reply = "451 4.3.0 try later"
        kept = caruso("run", notify_script, "-c", "company=x", "-s", f"smtp_port={down.port}", "--outbox", outbox,
                      input="bob@example.org\n")
        assert kept.exit_code == 1
        assert f"mail 1 to bob@example.org 'Hello from x': left queued: 127.0.0.1:{down.port} answered 451" in kept.output
        assert kept.output.endswith(f"error: 1 of 1 message(s) not sent; they stay queued in {outbox}\n")
        down.reply = "250 OK"
        again = caruso("run", notify_script, "-s", f"smtp_port={down.port}", "--outbox", outbox, input=":quit\n")
        assert again.exit_code == 0, again.output
        assert again.output.endswith("-- abandoned\nmail 1 to bob@example.org 'Hello from x': sent\n")
        assert [message["To"] for message in down.messages] == ["bob@example.org"]
    finally:
        down.stop()
    assert "a dry run queues no mail" in caruso("run", notify_script, "--dry-run", "--outbox", outbox).output
    bad = caruso("run", notify_script, "-s", "smtp_port=none", input="ann@example.org\n")
    assert bad.exit_code == 1 and "smtp_port is a number, not 'none'" in bad.output and "address" not in bad.output


def test_the_example_in_the_format_guide_is_valid_and_clean(tmp_path):
    guide = (Path(__file__).resolve().parents[2] / "docs" / "script-format.md").read_text()
    example = re.search(r"```xml\n(.*?)```", guide, re.S).group(1)
    path = tmp_path / "callback.xml"
    path.write_text(example)
    assert caruso("validate", path).exit_code == 0
    assert caruso("lint", path).exit_code == 0


def test_lint_of_a_long_script_takes_linear_work(tmp_path):
    """8,000 steps in a chain whose end is last: a walk per step would not finish in the guard's 30 s."""
    steps = "".join(f'<info id="s{n}"><text>{n}</text><go to="s{n + 1}"/></info>\n' for n in range(8000))
    path = tmp_path / "long.xml"
    path.write_text(f'<?xml version="1.0"?>\n<script id="long" version="1">\n{steps}'
                    '<end id="s8000" outcome="done"/>\n</script>\n')
    done = subprocess.run([sys.executable, "-m", "caruso_core", "script", "lint", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{path}: clean\n", "")
