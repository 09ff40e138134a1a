"""Models built on others: the CRM base module, ``<extend object>``, and lists of model files
applied in order (a vendor's vertical, then an integrator's extension of it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from caruso_core import hookimpl
from caruso_core.errors import ConfigError
from caruso_core.plugins import plugin_manager
from caruso_core.testing.commands import caruso
from caruso_storage import loader
from caruso_storage.service import StorageManager

VENDOR = """<model name="vendor">
  <database name="main"/>
  <include module="crm"/>
  <include module="activities"/>
  <extend object="Customer">
    <attribute name="customer_no" type="string" length="10" required="true" label="Customer number"/>
    <relation name="meters" kind="one-to-many" target="Meter" foreign-key="customer_id"/>
    <index name="ux_customer_no" attributes="customer_no" unique="true"/>
  </extend>
  <object name="Meter" table="meter">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="customer_id" type="integer" required="true"/>
  </object>
</model>
"""

INTEGRATOR = """<model name="acme">
  <include module="crm"/>
  <include module="consent"/>
  <extend object="Customer" label="Client">
    <attribute name="phone" length="32" label="Phone (with country code)"/>
    <attribute name="loyalty" type="string" length="8" choices="none|silver|gold" default="none"/>
    <index name="ix_customer_loyalty" attributes="loyalty"/>
    <rule name="gold_welcome" on="update">
      <when><test field="loyalty" op="changed_to" value="gold"/></when>
      <action use="create" object="Task">
        <set field="subject">Welcome ${name} (${customer_no}) to gold</set>
        <set field="assignee">loyalty</set>
        <set field="customer_id">${id}</set>
      </action>
    </rule>
  </extend>
  <extend object="Task">
    <attribute name="done" default="true" label="Closed"/>
  </extend>
  <extend object="Meter">
    <attribute name="location" type="string" length="40"/>
  </extend>
</model>
"""


@pytest.fixture
def layers(tmp_path: Path) -> list[Path]:
    vendor, integrator = tmp_path / "vendor.xml", tmp_path / "acme.xml"
    vendor.write_text(VENDOR)
    integrator.write_text(INTEGRATOR)
    return [vendor, integrator]


def test_later_files_extend_the_objects_of_earlier_ones(layers):
    model = loader.load(layers)
    assert model.name == "vendor" and model.source == f"{layers[0]}, {layers[1]}"
    customer = model.objects["Customer"]
    assert customer.source.endswith("crm.xml") and customer.label == "Client"
    assert list(customer.attributes) == ["id", "name", "email", "phone", "city", "customer_no", "loyalty"]
    phone = customer.attributes["phone"]
    assert (phone.length, phone.label, phone.type) == (32, "Phone (with country code)", "string")
    assert list(customer.relations) == ["tasks", "meters"]
    assert [index.name for index in customer.indexes] == ["ux_customer_no", "ix_customer_loyalty"]
    assert [rule.name for rule in customer.rules] == ["gold_welcome"]
    task = model.objects["Task"]
    assert (task.attributes["done"].default, task.attributes["done"].label) == (True, "Closed")
    assert {"Activity", "Consent", "Meter"} <= set(model.objects)       # crm included twice, loaded once


def test_a_later_extension_builds_on_the_changes_of_earlier_ones(layers, tmp_path):
    relabel = tmp_path / "relabel.xml"
    relabel.write_text('<model name="relabel">\n  <extend object="Customer">\n'
                       '    <attribute name="phone" label="Mobile"/>\n'
                       '    <attribute name="city" length="10"/>\n  </extend>\n</model>\n')
    with pytest.raises(ConfigError, match=rf"^{relabel}:4: Customer\.city: length 10 is not longer than 80"):
        loader.load([*layers, relabel])
    relabel.write_text(relabel.read_text().replace('    <attribute name="city" length="10"/>\n', ""))
    phone = loader.load([*layers, relabel]).objects["Customer"].attributes["phone"]
    assert (phone.label, phone.length) == ("Mobile", 32)


def test_a_layered_model_serves_its_extensions_and_their_rules(layers, database_url):
    storage = StorageManager(model=[str(layer) for layer in layers], db=database_url)
    try:
        served(storage)
    finally:
        storage.stop()


def served(storage: StorageManager) -> None:
    customer = storage.create("Customer", {"name": "Ann", "customer_no": "C-1", "phone": "+31 6 1234 5678 90"})
    assert (customer["loyalty"], customer["phone"]) == ("none", "+31 6 1234 5678 90")
    storage.update("Customer", customer["id"], {"loyalty": "gold"})
    [task] = storage.related("Customer", customer["id"], "tasks")
    assert (task["subject"], task["assignee"], task["done"]) == ("Welcome Ann (C-1) to gold", "loyalty", True)
    assert storage.describe("Customer")["attributes"]["loyalty"]["choices"] == ["none", "silver", "gold"]


BAD = {
    "unknown object": ('<extend object="Invoice"><attribute name="x" type="integer"/></extend>',
                       r"acme\.xml:3: extend: no object 'Invoice' is declared before this \(objects: Customer, "),
    "type": ('<extend object="Customer"><attribute name="phone" type="integer"/></extend>',
             r"acme\.xml:3: Customer\.phone: an extension may change the label, default and length of an "
             r"attribute, not its type \('string' to 'integer'\): the base \(.*crm\.xml:\d+\)"),
    "required": ('<extend object="Task"><attribute name="assignee" required="true"/></extend>',
                 r"acme\.xml:3: Task\.assignee: .* not its required \(False to True\)"),
    "column": ('<extend object="Customer"><attribute name="city" column="town"/></extend>',
               r"acme\.xml:3: Customer\.city: .* not its column \('city' to 'town'\)"),
    "shorter": ('<extend object="Customer"><attribute name="name" length="60"/></extend>',
                r"acme\.xml:3: Customer\.name: length 60 is not longer than 120: values the base accepts"),
    "key": ('<extend object="Customer"><attribute name="number" type="integer" key="true"/></extend>',
            r"acme\.xml:3: Customer\.number: an extension cannot change the key of Customer \(id\)"),
    "new without type": ('<extend object="Customer"><attribute name="nickname" length="20"/></extend>',
                         r"acme\.xml:3: Customer\.nickname: Customer has no such attribute to change; "
                         r"a new attribute needs type="),
    "column twice": ('<extend object="Customer"><attribute name="mobile" type="string" column="phone"/></extend>',
                     r"acme\.xml:3: Customer\.mobile: column 'phone' is mapped twice"),
    "relation": ('<extend object="Customer">\n<relation name="tasks" kind="one-to-many" target="Task" '
                 'foreign-key="assignee"/></extend>',
                 r"acme\.xml:4: Customer\.tasks: the name is used twice \(first at .*crm\.xml:\d+\)"),
    "index": ('<extend object="Customer">\n<index name="ux_customer_no" attributes="name"/></extend>',
              r"acme\.xml:4: index ux_customer_no: Customer has it already"),
    "rule": ('<extend object="Customer">\n<rule name="r" on="create"><action use="notify"/></rule>\n'
             '<rule name="r" on="update"><action use="notify"/></rule></extend>',
             r"acme\.xml:5: rule r: Customer has a rule of that name already \(.*acme\.xml:4\)"),
    "database": ('<database name="main"/>', r"acme\.xml:3: database 'main' is declared twice"),
    "schema": ('<extend object="Customer" table="clients"/>', r"acme\.xml:3: .*table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_extension_that_breaks_the_base_is_refused_with_its_line(case, tmp_path):
    vendor, integrator = tmp_path / "vendor.xml", tmp_path / "acme.xml"
    vendor.write_text(VENDOR)
    text, message = BAD[case]
    integrator.write_text(f'<model name="acme">\n  <include module="crm"/>\n  {text}\n</model>\n')
    with pytest.raises(ConfigError, match=message):
        loader.load([vendor, integrator])


def test_the_length_of_an_existing_tables_column_cannot_grow():
    text = b"""<model name="m">
  <object name="Debtor" table="DEB" existing="true">
    <attribute name="number" type="integer" key="true"/>
    <attribute name="name" type="string" length="30"/>
  </object>
  <extend object="Debtor"><attribute name="name" length="60"/></extend>
</model>"""
    with pytest.raises(ConfigError, match=r"m\.xml:6: Debtor\.name: the length of a column of an existing table"):
        loader.loads(text, "m.xml")


class LoyaltyModule:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def caruso_model_modules(self):
        return {"loyalty": str(self.path)}


def test_a_module_declares_objects_and_leaves_extending_to_the_model(tmp_path):
    module = tmp_path / "loyalty.xml"
    module.write_text('<model name="loyalty">\n  <extend object="Customer"/>\n</model>\n')
    plugin = LoyaltyModule(module)
    plugin_manager().register(plugin)
    try:
        with pytest.raises(ConfigError, match=rf"^{module}:2: a model module holds objects only \(no <extend>\)"):
            loader.loads(b'<model name="m"><include module="crm"/><include module="loyalty"/></model>', "m.xml")
    finally:
        plugin_manager().unregister(plugin)


def test_validate_and_describe_take_the_files_in_order(layers):
    validated = caruso("model", "validate", *layers)
    assert (validated.exit_code, validated.stdout) == (0, f"{layers[0]}, {layers[1]}: valid (5 objects, 1 database(s))\n")
    described = caruso("model", "describe", *layers, "--object", "Customer")
    assert described.exit_code == 0, described.stderr
    customer = json.loads(described.stdout)
    assert customer["label"] == "Client" and customer["attributes"]["phone"]["length"] == 32
    whole = json.loads(caruso("model", "describe", *layers).stdout)
    assert whole["name"] == "vendor" and whole["objects"]["Customer"] == customer
    alone = caruso("model", "validate", layers[1])
    assert alone.exit_code == 1 and alone.stdout == ""
    assert alone.stderr == (f"error: {layers[1]}:20: extend: no object 'Meter' is declared before this (objects: "
                            "Customer, Task, Consent); include its module or list the file declaring it first\n")
    missing = caruso("model", "describe", *layers, "--object", "Invoice")
    assert missing.exit_code == 1 and "no object 'Invoice' (objects: Customer, Task, " in missing.stderr
