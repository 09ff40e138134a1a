"""``caruso frontoffice``: adding users from a prompt or a file, checking view files."""
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.errors import ConfigError
from caruso_core.testing.commands import caruso
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from frontoffice_support import PACKAGED, VIEWS


def run(tmp_path, *arguments):
    return caruso("frontoffice", *arguments, env={"CARUSO_DATA": str(tmp_path / "data")})


def test_user_add_from_a_password_file_and_errors_in_one_line(tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text("a-long-password\n")
    done = run(tmp_path, "user", "add", "Anna", "--role", "supervisor", "--password-file", str(secret))
    assert done.returncode == 0 and done.stdout.strip() == "user anna (supervisor) added"
    accounts = Accounts(open_database(f"sqlite:///{tmp_path / 'data' / 'frontoffice.db'}"))
    assert accounts.authenticate("anna", "a-long-password").role == "supervisor"
    again = run(tmp_path, "user", "add", "anna", "--role", "agent", "--password-file", str(secret))
    assert again.returncode == 1 and again.stderr.strip() == "error: a user named 'anna' exists already"
    short = tmp_path / "short.txt"
    short.write_text("short")
    weak = run(tmp_path, "user", "add", "bob", "--role", "agent", "--password-file", str(short))
    assert weak.returncode == 1 and "10 to 256 characters" in weak.stderr and "Traceback" not in weak.stderr
    listed = run(tmp_path, "user", "list")
    assert listed.stdout.split() == ["anna", "supervisor"]
    secret.write_text("another-long-password\n")
    changed = run(tmp_path, "user", "password", "anna", "--password-file", str(secret))
    assert changed.returncode == 0 and accounts.authenticate("anna", "another-long-password")
    assert run(tmp_path, "user", "remove", "anna").stdout.strip() == "user anna removed"
    gone = run(tmp_path, "user", "remove", "anna")
    assert gone.returncode == 1 and gone.stderr.strip() == "error: no user named 'anna'"


def test_user_add_prompts_for_the_password_twice(tmp_path):
    db = f"sqlite:///{tmp_path / 'fo.db'}"
    result = CliRunner().invoke(cli, ["frontoffice", "user", "add", "root", "--role", "admin", "--db", db],
                                input="root-password-1\nroot-password-1\n")
    assert result.exit_code == 0, result.output
    assert Accounts(open_database(db)).authenticate("root", "root-password-1").role == "admin"


def test_views_command_checks_files(tmp_path):
    ok = run(tmp_path, "views", *VIEWS)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok: 1 customer360, 1 detail, 7 form, 8 list, 1 menu(s)"
    bad = tmp_path / "bad.xml"
    bad.write_text("<views>\n  <list id='x' object='Customer'/>\n</views>")
    failed = run(tmp_path, "views", str(bad))
    assert failed.returncode == 1 and failed.stderr.startswith(f"error: {bad}:2: ")


def test_views_checked_against_the_running_storage_model(tmp_path, storage):
    runner = CliRunner()
    ok = runner.invoke(cli, ["frontoffice", "views", *VIEWS, "--storage"])
    assert ok.exit_code == 0 and ok.output.startswith("ok: "), ok.output
    odd = tmp_path / "odd.xml"
    odd.write_text("""<views>
  <list id="customers" object="Customer">
    <search fields="name shoe_size"/>
    <column field="name"/>
    <column field="nickname"/>
  </list>
  <form id="deals" object="Deal"><field name="title"/></form>
  <customer360 id="c360" object="Customer"><profile detail="customer"/>
    <related object="Contact" field="client_id" label="Contacts"/></customer360>
</views>""")
    failed = runner.invoke(cli, ["frontoffice", "views", PACKAGED, str(odd), "--storage"])
    assert isinstance(failed.exception, ConfigError) and "4 name(s)" in str(failed.exception)
    assert failed.stderr.splitlines() == [
        f"{odd}:5: list 'customers' names Customer.nickname, which the model lacks",
        f"{odd}:2: list 'customers' names Customer.shoe_size, which the model lacks",
        f"{odd}:7: form 'deals' names object 'Deal', which the model lacks",
        f"{odd}:8: customer360 'c360' names Contact.client_id, which the model lacks"]


def test_customer_accounts_get_their_customer_key(tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text("a-long-password\n")
    done = run(tmp_path, "user", "add", "cora", "--role", "customer", "--customer", "customer_id=7",
               "--password-file", str(secret))
    assert done.returncode == 0 and done.stdout.strip() == "user cora (customer) added"
    keyless = run(tmp_path, "user", "add", "carl", "--role", "customer", "--password-file", str(secret))
    assert keyless.returncode == 1 and "a customer account needs its customer key" in keyless.stderr
    bad = run(tmp_path, "user", "add", "carl", "--role", "customer", "--customer", "id 7", "--password-file",
              str(secret))
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: customer key 'id 7': write it as name=value pairs separated by commas, e.g. customer_id=42")
    assert run(tmp_path, "user", "list").stdout.split() == ["cora", "customer", "customer_id=7"]
