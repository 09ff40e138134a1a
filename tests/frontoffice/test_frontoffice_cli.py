"""``caruso frontoffice``: adding users from a prompt or a file, where the deployment of the
folder keeps them, checking view files."""
import pytest
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.testing.commands import caruso
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from frontoffice_support import PACKAGED, QUICK_COST, QUICK_HASHES, VIEWS, stored_hash

QUICKLY_HASHED = f"""[services.frontoffice]
use = "frontoffice"
config = {{ password_cost = {{ n = {QUICK_COST['n']} }} }}
"""


@pytest.fixture(autouse=True)
def deployment_folder(tmp_path, monkeypatch):
    """The commands run in a deployment's folder whose front office hashes quickly."""
    (tmp_path / "caruso.toml").write_text(QUICKLY_HASHED)
    monkeypatch.chdir(tmp_path)


def run(tmp_path, *arguments):
    return caruso("frontoffice", *arguments, env={"CARUSO_DATA": str(tmp_path / "data")})


def test_user_commands_keep_users_where_the_deployment_of_the_folder_keeps_them(tmp_path):
    """Without --db the commands use the front office's db and password_cost of ./caruso.toml
    (the users a running front office reads); --db names another database."""
    secret = tmp_path / "password.txt"
    secret.write_text("a-long-password\n")
    office = f"sqlite:///{tmp_path / 'office.db'}"
    (tmp_path / "caruso.toml").write_text(
        f'[services.frontoffice]\nuse = "frontoffice"\nconfig = {{ db = "{office}", password_cost = {{ n = 2048 }} }}\n')
    assert run(tmp_path, "user", "add", "anna", "--role", "agent", "--password-file", str(secret)).returncode == 0
    assert not (tmp_path / "data" / "frontoffice.db").exists()
    assert stored_hash(office, "anna").startswith("scrypt$2048$8$1$")
    assert Accounts(open_database(office), QUICK_HASHES).authenticate("anna", "a-long-password").role == "agent"
    assert run(tmp_path, "user", "list").stdout.split() == ["anna", "agent"]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert run(tmp_path, "user", "add", "ben", "--role", "agent", "--password-file", str(secret),
               "--db", other).returncode == 0
    assert [user.name for user in Accounts(open_database(other)).all()] == ["ben"]
    (tmp_path / "caruso.toml").write_text('[services.frontoffice]\nuse = "frontoffice"\n'
                                          'config = { password_cost = { n = 1000 } }\n')
    refused = run(tmp_path, "user", "list")
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert "frontoffice password_cost {'n': 1000}: n must be a power of two" in refused.stderr


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


def test_user_role_gives_a_staff_user_another_role(tmp_path):
    db = f"sqlite:///{tmp_path / 'fo.db'}"
    accounts = Accounts(open_database(db), QUICK_HASHES)
    accounts.add("root", "admin", "root-password-1")
    accounts.add("ada", "agent", "ada-password-1")
    runner = CliRunner()
    done = runner.invoke(cli, ["frontoffice", "user", "role", "ada", "supervisor", "--db", db])
    assert done.exit_code == 0 and done.output.strip() == "user ada is now supervisor"
    assert accounts.authenticate("ada", "ada-password-1").role == "supervisor"
    last = runner.invoke(cli, ["frontoffice", "user", "role", "root", "agent", "--db", db])
    assert isinstance(last.exception, InvalidInput) and "root is the last administrator" in str(last.exception)
    assert runner.invoke(cli, ["frontoffice", "user", "role", "ada", "customer", "--db", db]).exit_code == 2


def test_views_command_checks_files(tmp_path):
    ok = run(tmp_path, "views", "check", *VIEWS)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok: 1 customer360, 1 detail, 7 form, 8 list, 1 menu(s)"
    bad = tmp_path / "bad.xml"
    bad.write_text("<views>\n  <list id='x' object='Customer'/>\n</views>")
    failed = run(tmp_path, "views", "check", str(bad))
    assert failed.returncode == 1 and failed.stderr.startswith(f"error: {bad}:2: ")


def test_views_checked_against_the_running_storage_model(tmp_path, storage):
    runner = CliRunner()
    ok = runner.invoke(cli, ["frontoffice", "views", "check", *VIEWS, "--storage"])
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
  <list id="orders" object="SalesOrder"><column field="title" open="c360"/><column field="customer_id" open="c360"/>
    <column field="opportunity_id" open="c360"/>
    <column field="title" by="name"/><column field="customer_id" by="nickname"/></list>
  <detail id="order" object="SalesOrder"><section label="S"><field name="title" open="c360"/></section>
    <related object="Quote" field="sales_order_id" label="Quotes"/></detail>
</views>""")
    failed = runner.invoke(cli, ["frontoffice", "views", "check", PACKAGED, str(odd), "--storage"])
    assert isinstance(failed.exception, ConfigError) and "10 problem(s)" in str(failed.exception)
    assert failed.stderr.splitlines() == [
        f"{odd}:5: list 'customers' names Customer.nickname, which the model lacks",
        f"{odd}:2: list 'customers' names Customer.shoe_size, which the model lacks",
        f"{odd}:7: form 'deals' names object 'Deal', which the model lacks",
        f"{odd}:9: customer360 'c360' names Contact.client_id, which the model lacks",
        f"{odd}:10: list 'orders' column 'title' opens view 'c360' of Customer, but SalesOrder.title relates to no "
        "Customer (no many-to-one relation on it alone)",
        f"{odd}:11: list 'orders' column 'opportunity_id' opens view 'c360' of Customer, but "
        "SalesOrder.opportunity_id relates to Opportunity",
        f"{odd}:12: list 'orders' column 'title' by='name': SalesOrder.title is no reference (a many-to-one relation "
        "on it alone, to an object with a one-attribute key)",
        f"{odd}:12: list 'orders' column 'customer_id' by='nickname': Customer has no attribute 'nickname'",
        f"{odd}:14: detail 'order' names Quote.sales_order_id, which the model lacks",
        f"{odd}:13: detail 'order' field 'title' opens view 'c360' of Customer, but SalesOrder.title relates to no "
        "Customer (no many-to-one relation on it alone)"]


def test_customer_accounts_get_their_customer_key(tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text("a-long-password\n")
    done = run(tmp_path, "user", "add", "cora", "--role", "customer", "--customer", "customer_id=7",
               "--password-file", str(secret), "--no-check")
    assert done.returncode == 0 and done.stdout.strip() == (
        "user cora (customer) added; its customer key was not checked (it is when cora signs in)")
    keyless = run(tmp_path, "user", "add", "carl", "--role", "customer", "--password-file", str(secret))
    assert keyless.returncode == 1 and "a customer account needs its customer key" in keyless.stderr
    bad = run(tmp_path, "user", "add", "carl", "--role", "customer", "--customer", "id 7", "--password-file",
              str(secret))
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: customer key 'id 7': write it as name=value pairs separated by commas, e.g. customer_id=42")
    assert run(tmp_path, "user", "list").stdout.split() == ["cora", "customer", "customer_id=7"]


def _add_customer(tmp_path, key, *options, name="cora"):
    secret = tmp_path / "password.txt"
    secret.write_text("a-long-password\n")
    return run(tmp_path, "user", "add", name, "--role", "customer", "--customer", key, "--password-file", str(secret),
               *options)


def _names(tmp_path):
    return [line.split("\t")[0] for line in run(tmp_path, "user", "list").stdout.splitlines()]


def test_attack_a_customer_account_is_added_only_for_one_customer_the_running_storage_holds(tmp_path, storage):
    for key, said in [
            ("customer_id=999999", "customer key customer_id=999999: there is no such customer "
                                   "(no Customer with id=999999)"),
            ("cust=abc", "customer key cust=abc: Customer has no attribute 'cust' (use customer_id or one of id, "),
            ("customer_id=abc", "customer key customer_id=abc: id: 'abc' is not a valid integer"),
            ("customer_id=1, city=Bonn", "(no Customer with id=1 and city=Bonn)"),
            ("customer_id=" + "9" * 20_000, "a customer key has at most 400 characters"),
            ("customer_id=1;drop table users", "write it as name=value pairs separated by commas")]:
        refused = _add_customer(tmp_path, key)
        assert refused.returncode == 1 and refused.stdout == "", key
        assert refused.stderr.startswith("error: ") and said in refused.stderr, (key, refused.stderr)
        assert len(refused.stderr.splitlines()) == 1 and "9" * 500 not in refused.stderr
    storage.create("Customer", {"name": "Acme North", "city": "Berlin"})
    several = _add_customer(tmp_path, "city=Berlin")
    assert several.returncode == 1 and "several customers have it" in several.stderr
    assert _names(tmp_path) == []                                              # nothing was added
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]
    done = _add_customer(tmp_path, f"customer_id={acme['id']}")
    assert done.returncode == 0 and done.stdout.strip() == "user cora (customer) added"
    again = _add_customer(tmp_path, "customer_id=999999")                        # the same add replayed
    assert again.returncode == 1 and "there is no such customer" in again.stderr
    again = _add_customer(tmp_path, f"customer_id={acme['id']}")
    assert again.returncode == 1 and again.stderr.strip() == "error: a user named 'cora' exists already"
    assert run(tmp_path, "user", "list").stdout.split() == ["cora", "customer", f"customer_id={acme['id']}"]


def test_without_the_storage_a_customer_account_is_refused_unless_added_unchecked(tmp_path, caruso_manager):
    refused = _add_customer(tmp_path, "customer_id=7")                          # a manager, but no storage service
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert refused.stderr.startswith("error: the customer key could not be checked, the storage service did not "
                                     "answer (NoInstance: no instance of 'caruso.storage/1' is registered")
    assert refused.stderr.rstrip().endswith(
        "nobody was added, try again when it runs, or add the account unchecked with --no-check")
    staff = run(tmp_path, "user", "add", "kim", "--role", "agent", "--password-file", str(tmp_path / "password.txt"))
    assert staff.returncode == 0                                                # staff accounts need no storage
    assert _names(tmp_path) == ["kim"]
    unchecked = _add_customer(tmp_path, "customer_id=7", "--no-check")
    assert unchecked.returncode == 0 and "its customer key was not checked" in unchecked.stdout
    assert _names(tmp_path) == ["cora", "kim"]
    malformed = _add_customer(tmp_path, "id 7", "--no-check", name="carl")      # the form of a key is always checked
    assert malformed.returncode == 1 and "write it as name=value pairs" in malformed.stderr
    unlisted = run(tmp_path, "user", "list", "--check")
    assert unlisted.returncode == 1 and unlisted.stdout == "" and len(unlisted.stderr.splitlines()) == 1
    assert unlisted.stderr.startswith("error: the customer key could not be checked, the storage service did not")


def test_user_list_check_says_which_customer_accounts_lost_their_customer(tmp_path, storage):
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]["id"]
    gone = storage.create("Customer", {"name": "Gone GmbH", "city": "Bonn"})["id"]
    assert _add_customer(tmp_path, f"customer_id={acme}").returncode == 0
    assert _add_customer(tmp_path, f"customer_id={gone}", name="gus").returncode == 0
    assert run(tmp_path, "user", "add", "kim", "--role", "agent", "--password-file",
               str(tmp_path / "password.txt")).returncode == 0
    storage.delete("Customer", gone)
    stored = [f"cora\tcustomer\tcustomer_id={acme}", f"gus\tcustomer\tcustomer_id={gone}", "kim\tagent"]
    assert run(tmp_path, "user", "list").stdout.splitlines() == stored              # as stored, no storage asked
    checked = run(tmp_path, "user", "list", "--check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [stored[0], stored[1] + "\tcustomer gone", stored[2]]


DEPLOYMENT = """
[services.storage]
use = "storage"
config = {{ model = ["model.xml"] }}
[services.scripts]
use = "scripts"
config = {{ scripts = ["scripts"] }}
[services.frontoffice]
use = "frontoffice"
config = {{ views = ["views.xml"], self_service = {portal}, desk = {{ scripts = {{ faults = "fault" }} }} }}
"""
MODEL = """<model name="shop"><database name="main"/>
  <object name="Customer" table="customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="80" required="true"/>
    <attribute name="segment" type="string" length="10" required="true" default="retail"/>
  </object>
  <object name="Order" table="orders">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="customer_id" type="integer" required="true"/>
    <attribute name="opened" type="datetime" required="true"/>
    <attribute name="note" type="text"/>
  </object>
</model>"""
SCRIPT = """<script id="{id}" version="1" title="Fault">
  <bind name="customer" object="Customer" key="context.customer_id"/>
  <bind name="order" object="Order" key="context.{key}"{optional}/>
  <end id="done" outcome="done"/>
</script>"""


def shop(tmp_path, views, key="order_id", optional="", portal='["fault"]'):
    """A deployment folder: a model, one script ``fault`` binding an order by ``context.KEY``,
    the view file ``views``; the desk's queue faults and the portal start the script."""
    (tmp_path / "model.xml").write_text(MODEL)
    (tmp_path / "scripts").mkdir(exist_ok=True)
    (tmp_path / "scripts" / "fault.xml").write_text(SCRIPT.format(id="fault", key=key, optional=optional))
    (tmp_path / "views.xml").write_text(views)
    (tmp_path / "caruso.toml").write_text(DEPLOYMENT.format(portal=portal))
    return run(tmp_path, "views", "check", "--deployment", str(tmp_path / "caruso.toml"))


GOOD_FORMS = """<views>
  <form id="customer-new" object="Customer"><field name="name"/></form>
  <form id="order-new" object="Order"><field name="customer_id"/><field name="opened"/></form>
  <form id="order-edit" object="Order" create="false"><field name="note"/></form>
</views>"""


def test_a_deployment_whose_forms_and_scripts_fit_passes(tmp_path):
    ok = shop(tmp_path, GOOD_FORMS, key="customer_id")
    assert ok.returncode == 0 and ok.stdout.strip() == "ok: 3 form, 0 menu(s)", ok.stderr
    optional = shop(tmp_path, GOOD_FORMS, optional=' required="false"')
    assert optional.returncode == 0, optional.stderr


def test_a_create_form_that_cannot_make_a_valid_object_is_refused(tmp_path):
    views = """<views>
  <form id="order-new" object="Order">
    <field name="customer_id"/>
    <field name="opened" roles="supervisor admin"/>
  </form>
  <form id="order-edit" object="Order"><field name="opened" widget="readonly"/><field name="note"/></form>
</views>"""
    failed = shop(tmp_path, views, key="customer_id")
    views_file = tmp_path / "views.xml"
    assert failed.returncode == 1 and failed.stderr.splitlines() == [
        f"{views_file}:2: form 'order-new' cannot create a Order for agent: opened required, with no input and "
        "no default (give each a field, or mark the form create=\"false\" if it only edits)",
        f"{views_file}:6: form 'order-edit' cannot create a Order for admin, agent, supervisor: customer_id, "
        "opened required, with no input and no default (give each a field, or mark the form create=\"false\" "
        "if it only edits)",
        "error: 2 problem(s) in the views and scripts of the front office (listed above)"]


def test_a_list_cannot_offer_new_with_a_form_that_only_edits(tmp_path):
    views = GOOD_FORMS.replace("</views>", """  <list id="orders" object="Order" form="order-edit">
    <column field="opened"/></list>
</views>""")
    failed = shop(tmp_path, views, key="customer_id")
    assert failed.returncode == 1 and failed.stderr.strip() == (
        f"error: {tmp_path / 'views.xml'}:5: list 'orders' form (its New button) names form 'order-edit', "
        "which only edits (create=\"false\")")


def test_a_script_the_desk_or_portal_starts_needs_only_the_context_they_give(tmp_path):
    failed = shop(tmp_path, GOOD_FORMS)
    script = tmp_path / "scripts" / "fault.xml"
    assert failed.returncode == 1 and failed.stderr.splitlines() == [
        f"{script}:3: binding 'order' needs context.order_id, which queue 'faults' of the desk does not give "
        "(it gives agent, caller, channel, customer_id, interaction, queue)",
        f"{script}:3: binding 'order' needs context.order_id, which the portal does not give (it gives "
        "channel, customer_id)",
        "error: 2 problem(s) in the views and scripts of the front office (listed above)"]
    unknown = shop(tmp_path, GOOD_FORMS, key="customer_id", portal='["nothing"]')
    assert unknown.returncode == 1 and unknown.stderr.splitlines()[0] == (
        "the portal starts script 'nothing', which the scripts service does not have")
