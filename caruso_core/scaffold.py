"""``caruso new``: package skeletons for a service, a wrapper or a vertical, with tests that pass.

A skeleton is an installable package (``pyproject.toml`` with its entry point) whose
tests run with the caruso test kit. A service is found through ``caruso.services``; a
wrapper also gets the contract suite of its interface (published through
``caruso.contracts``) and a conformance test that runs the suite against the hosted
wrapper. A vertical (``caruso.verticals``) is a manifest, a model including the generic
CRM modules, a dialog script with its script test, views and queues, and a test that
validates them in place and serves the model.
"""
from __future__ import annotations

import re
from pathlib import Path
from string import Template

from caruso_core.errors import ConfigError

KINDS = ("service", "wrapper", "vertical")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "0.1.0"
description = "$title: a caruso $kind"
requires-python = ">=3.11"
dependencies = ["caruso"]

[project.entry-points."$group"]
$name = "$entry"
$extra
[tool.pytest.ini_options]
testpaths = ["tests"]
"""

VERTICAL_DATA = """
[tool.setuptools.package-data]
$package = ["*.toml", "*.xml", "scripts/*.xml", "scripts/*.toml", "views/*.xml"]
"""

CONTRACT_ENTRY = """
[project.entry-points."caruso.contracts"]
"$interface" = "$package.contract:${cls}Contract"
"""

SERVICE = '''\
"""$title: a caruso $kind (interface ``$interface``)."""
from caruso_core import NotFound, remote, service


@service(name="$name", interface="$interface", version="0.1.0")
class $cls:
    """Describe here what this $kind offers and, for a wrapper, which system it wraps."""

    def __init__(self, source="$package.dat"):
        self.source = source
        self.items = {}

    def start(self):
        """Connect to or load what the $kind serves (called once, before registration)."""
        self.items = {"example": {"id": "example", "source": self.source}}

    @remote
    def get(self, item_id):
        """One item by its id."""
        if item_id not in self.items:
            raise NotFound(f"no item {item_id!r} in {self.source}")
        return self.items[item_id]

    def health(self):
        return {"status": "ok" if self.items else "degraded", "items": len(self.items)}
'''

CONTRACT = '''\
"""Contract suite of ``$interface``: what every implementation must do.

Fixtures the conformance module provides: ``service`` (the implementation) and
``known_item`` (the id of an item the implementation holds).
"""
import pytest

from caruso_core import NotFound
from caruso_core.testing import ContractSuite


class ${cls}Contract(ContractSuite):
    interface = "$interface"

    def test_get_a_known_item(self, service, known_item):
        assert service.get(known_item)["id"] == known_item

    def test_unknown_item_is_not_found(self, service):
        with pytest.raises(NotFound):
            service.get("no such item")
'''

SERVICE_TEST = '''\
"""$title over real Pyro5: hosted by the test kit, called through the manager."""
import pytest

from caruso_core import NotFound


@pytest.fixture
def $package(caruso_host, caruso_client):
    caruso_host("$package.service:$cls")
    return caruso_client.get("$interface")


def test_get(${package}):
    assert ${package}.get("example")["id"] == "example"


def test_unknown_item(${package}):
    with pytest.raises(NotFound):
        ${package}.get("missing")
'''

WRAPPER_TEST = '''\
"""$title honours its interface: the contract suite against the hosted wrapper."""
import pytest

from $package.contract import ${cls}Contract


@pytest.fixture
def known_item():
    return "example"


class Test${cls}(${cls}Contract):
    @pytest.fixture
    def service(self, caruso_host, caruso_client):
        caruso_host("$package.service:$cls")
        return caruso_client.get("$interface")
'''

README = """\
# $title

A caruso $kind. Implements `$interface`.

    pip install -e .          # registers the entry point "$name"
    pytest                    # runs its tests with the caruso test kit
    caruso serve $name        # hosts it (or: caruso serve $package.service:$cls)
"""

VERTICAL_README = """\
# $title

A caruso vertical: the model, dialog scripts, views and queues of a solution for one
market (see docs/methodology.md of caruso).

    pytest                                  # validates it in place and serves its model
    pip install -e .                        # registers the vertical "$name"
    caruso init my-company --vertical $name && cd my-company && caruso up
"""

MANIFEST = """\
name = "$name"
version = "0.1.0"
description = "$title: say which market this vertical serves"
depends = []                     # verticals this one extends, applied first

[services.storage]
files = { model = "model.xml" }

[services.scripts]
files = { scripts = ["scripts"] }

[services.frontoffice]
files = { views = ["views"] }

[services.comm]
use = "comm"

[services.comm.config]
# Customers who opted out of calls (model module consent) never get on a campaign's call list.
opt_outs = { object = "Consent", customer = "customer_id", where = { and = [ { field = "channel", op = "eq", value = "phone" }, { field = "opted_in", op = "eq", value = false } ] } }
queues = [
    { name = "service", strategy = "longest_idle", skills = { service = 1 }, sl_target = 30, max_wait = 600, overflow = "voicemail" },
]
"""

MODEL = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- The business objects of $title (format: docs/model-format.md of caruso).
     The generic CRM modules bring leads, sales (opportunities, quotes, sales orders to
     the ERP), activities, consent and the knowledge base; they need Customer and Task
     as below. Add the objects of your market after them.
     Rule: an open task whose due date has passed goes to the team lead. -->
<model name="$package">
  <database name="main"/>
  <include module="sales"/>
  <include module="leads"/>
  <include module="activities"/>
  <include module="consent"/>
  <include module="knowledge"/>

  <object name="Customer" table="customer" label="Customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="customer_no" type="string" length="20" required="true" label="Customer number"/>
    <attribute name="name" type="string" length="120" required="true"/>
    <attribute name="email" type="string" length="200"/>
    <attribute name="phone" type="string" length="40"/>
    <attribute name="city" type="string" length="80"/>
    <relation name="opportunities" kind="one-to-many" target="Opportunity" foreign-key="customer_id"/>
    <relation name="tasks" kind="one-to-many" target="Task" foreign-key="customer_id"/>
    <index name="ux_customer_no" attributes="customer_no" unique="true"/>
  </object>

  <object name="Task" table="task" label="Task or reminder">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="subject" type="string" length="300" required="true"/>
    <attribute name="assignee" type="string" length="80"/>
    <attribute name="customer_id" type="integer"/>
    <attribute name="due" type="date"/>
    <attribute name="done" type="boolean" default="false"/>
    <relation name="customer" kind="many-to-one" target="Customer" foreign-key="customer_id"/>
    <rule name="overdue_to_team_lead" on="due" at="due">
      <when><test field="done" op="eq" value="false"/></when>
      <action use="set"><set field="assignee">team-lead</set></action>
    </rule>
  </object>
</model>
"""

SCRIPT = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- A dialog script of $title (format: docs/script-format.md of caruso). -->
<script id="welcome" version="1.0" title="Welcome">
  <description>Greet the caller and find out what they need; a complaint becomes a task.</description>
  <bind name="customer" object="Customer" key="context.customer_id" required="false"/>

  <info id="greeting">
    <text>Hello {coalesce(customer.name, 'there')}, thank you for calling.</text>
    <go to="reason"/>
  </info>

  <question id="reason" type="choice">
    <prompt>What can we do for you?</prompt>
    <option value="question">A question</option>
    <option value="complaint">A complaint</option>
    <go to="complaint" if="reason == 'complaint'"/>
    <go to="answered"/>
  </question>

  <question id="complaint" type="text" maxlength="300">
    <prompt>What went wrong?</prompt>
    <validate rule="len(trim(complaint)) >= 3">Please say in a few words what went wrong.</validate>
    <go to="recorded">
      <action name="store">
        <param name="object" value="'Task'"/>
        <param name="subject" value="'Complaint: ' + trim(complaint)"/>
        <param name="assignee" value="'service'"/>
        <param name="customer_id" value="context.customer_id"/>
      </action>
    </go>
  </question>

  <end id="answered" outcome="answered">
    <text>Glad we could help.</text>
  </end>

  <end id="recorded" outcome="complaint_recorded">
    <text>We noted your complaint and come back to you within two working days.</text>
  </end>
</script>
"""

SCRIPT_TEST = """\
# Script tests of welcome.xml: caruso script test welcome.test.toml
script = "welcome.xml"
today = 2026-01-15
context = { customer_id = 1 }

[[storage.Customer.records]]
id = 1
customer_no = "C-1"
name = "Ann Example"

[[case]]
name = "a question is answered"
outcome = "answered"
steps = ["greeting", "reason", "answered"]
actions = []
answers = { reason = "question" }

[[case]]
name = "a complaint becomes a task"
outcome = "complaint_recorded"
steps = ["greeting", "reason", "complaint", "recorded"]
actions = [ { name = "store", params = { object = "Task", subject = "Complaint: the invoice is wrong", customer_id = 1 } } ]
answers = { reason = "complaint", complaint = " the invoice is wrong " }
"""

VIEWS = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Views of $title (format: docs/view-format.md of caruso). -->
<views version="1">
  <menu id="$package" label="$title">
    <item view="customers"/>
    <item view="leads"/>
    <item view="tasks"/>
  </menu>

  <list id="customers" object="Customer" title="Customers" detail="customer-360" form="customer-edit">
    <search fields="name customer_no phone email"/>
    <column field="customer_no" label="Customer number"/>
    <column field="name"/>
    <column field="city"/>
    <column field="phone"/>
    <order field="customer_no"/>
  </list>

  <detail id="customer" object="Customer" title="Customer" form="customer-edit">
    <section label="Customer">
      <field name="customer_no" label="Customer number"/>
      <field name="name"/>
      <field name="email" label="E-mail"/>
      <field name="phone"/>
      <field name="city"/>
    </section>
  </detail>

  <form id="customer-edit" object="Customer" title="Customer" detail="customer-360">
    <field name="customer_no" label="Customer number"/>
    <field name="name"/>
    <field name="email" label="E-mail" widget="email"/>
    <field name="phone" widget="phone"/>
    <field name="city"/>
  </form>

  <customer360 id="customer-360" object="Customer" title="Customer 360">
    <profile detail="customer"/>
    <related object="Opportunity" field="customer_id" label="Opportunities" list="opportunities"/>
    <related object="Task" field="customer_id" label="Tasks" list="tasks"/>
    <history limit="50"/>
  </customer360>

  <list id="opportunities" object="Opportunity" title="Opportunities">
    <filter field="stage"/>
    <column field="title"/>
    <column field="stage"/>
    <column field="deal_size"/>
    <order field="title"/>
  </list>

  <list id="leads" object="Lead" title="Leads">
    <search fields="name company"/>
    <filter field="rating"/>
    <column field="name"/>
    <column field="company"/>
    <column field="rating"/>
    <column field="status"/>
    <order field="name"/>
  </list>

  <list id="tasks" object="Task" title="Tasks">
    <search fields="subject assignee"/>
    <filter field="done"/>
    <column field="subject"/>
    <column field="assignee"/>
    <column field="due"/>
    <column field="done"/>
    <order field="due"/>
  </list>
</views>
"""

VERTICAL_TEST = '''\
"""$title validates in place: manifest, model, scripts and their tests, views; its model serves."""
import subprocess
import sys
from pathlib import Path

from caruso_core.verticals import deployment_data, read

HERE = Path(__file__).resolve().parents[1] / "$package"


def caruso(*args):
    return subprocess.run([sys.executable, "-m", "caruso_core", *args], capture_output=True, text=True, timeout=120)


def test_the_manifest_makes_a_deployment():
    data = deployment_data(["$name"], known={"$name": read(HERE / "vertical.toml")})
    assert data["services"]["storage"]["config"]["model"] == str(HERE / "model.xml")
    assert [queue["name"] for queue in data["services"]["comm"]["config"]["queues"]] == ["service"]


def test_model_scripts_and_views_validate():
    scripts = sorted(str(path) for path in (HERE / "scripts").glob("*.xml"))
    tests = sorted(str(path) for path in (HERE / "scripts").glob("*.test.toml"))
    for command in (["model", "validate", str(HERE / "model.xml")], ["script", "validate", *scripts],
                    ["script", "lint", *scripts], ["script", "test", *tests],
                    ["frontoffice", "views", str(HERE / "views")]):
        result = caruso(*command)
        assert result.returncode == 0, (command, result.stdout, result.stderr)


def test_the_model_serves_and_the_views_name_its_objects(caruso_host, caruso_client, caruso_manager, tmp_path):
    caruso_host("storage", config={"model": str(HERE / "model.xml"), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"customer_no": "C-1", "name": "Ann Example"})
    lead = storage.create("Lead", {"name": "Bo", "customer_id": customer["id"], "interest": "a quote", "score": 80})
    assert lead["rating"] == "hot"
    result = caruso("frontoffice", "views", "--storage", "--manager", caruso_manager.uri, str(HERE / "views"))
    assert result.returncode == 0, result.stdout + result.stderr
'''


def create(kind: str, name: str, parent: Path) -> Path:
    """Write the skeleton of a ``kind`` named ``name`` into ``parent/name``; return that folder."""
    if kind not in KINDS:
        raise ConfigError(f"caruso new makes a {' or a '.join(KINDS)}, not a {kind!r}")
    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a package name: use lower-case words joined by '-', e.g. acme-stock")
    target = parent / name
    if target.exists():
        raise ConfigError(f"{target} exists already; choose another name or remove it")
    package = name.replace("-", "_")
    words = {"name": name, "package": package, "kind": kind, "interface": f"{name}/1",
             "cls": "".join(part.capitalize() for part in name.split("-")),
             "title": name.replace("-", " ").capitalize()}
    files = _vertical(package, words) if kind == "vertical" else _service(kind, package, words)
    files |= {"pyproject.toml": PYPROJECT, f"{package}/__init__.py": '"""$title."""\n'}
    for relative, template in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(words), encoding="utf-8")
    return target


def _service(kind: str, package: str, words: dict[str, str]) -> dict[str, str]:
    """The files of a service or a wrapper; adds its entry point to ``words``."""
    words |= {"group": "caruso.services", "entry": f"{package}.service:{words['cls']}",
              "extra": Template(CONTRACT_ENTRY).substitute(words) if kind == "wrapper" else ""}
    files = {"README.md": README, f"{package}/service.py": SERVICE,
             f"tests/test_{package}.py": WRAPPER_TEST if kind == "wrapper" else SERVICE_TEST}
    if kind == "wrapper":
        files[f"{package}/contract.py"] = CONTRACT
    return files


def _vertical(package: str, words: dict[str, str]) -> dict[str, str]:
    """The files of a vertical; adds its entry point to ``words``."""
    words |= {"group": "caruso.verticals", "entry": package, "extra": Template(VERTICAL_DATA).substitute(words)}
    return {"README.md": VERTICAL_README, f"{package}/vertical.toml": MANIFEST, f"{package}/model.xml": MODEL,
            f"{package}/scripts/welcome.xml": SCRIPT, f"{package}/scripts/welcome.test.toml": SCRIPT_TEST,
            f"{package}/views/{package}.xml": VIEWS, f"tests/test_{package}.py": VERTICAL_TEST}
