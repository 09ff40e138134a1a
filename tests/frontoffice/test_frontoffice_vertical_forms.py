"""Every "new" form of every vertical saves, in Chromium at 1366 pixels (and fits 390): each
input is filled from the type of its attribute in the vertical's model (a reference from
the object it names), and the object then exists in the storage service."""
from __future__ import annotations

import itertools

import pytest

from caruso_core.verticals import deployment_data
from caruso_frontoffice.views.catalog import load
from caruso_frontoffice.views.model import FormView
from frontoffice_support import PHONE, Tab, host_vertical

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}
SAMPLES = {"date": "2026-05-04", "datetime": "2026-05-04T10:30", "integer": "3", "decimal": "12.50",
           "float": "1.5", "text": "Written in the form test"}


@pytest.fixture(params=["utility", "bank", "service"])
def vertical(request, caruso_host, caruso_client, tmp_path, browser, shots):
    """The vertical's storage (its model, an empty database) and front office, a supervisor's tab."""
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, request.param)
    tabs = [Tab(browser, url, size, shots) for size in (WIDE, PHONE)]
    for tab in tabs:
        tab.sign_in("sam").wait_for_url("**/")
    yield load(deployment_data([request.param])["services"]["frontoffice"]["config"]["views"]), storage, tabs
    for tab in tabs:
        tab.close()


def creating_forms(catalog):
    """The forms that create, customers first (the others refer to a customer)."""
    forms = [v for v in catalog.views.values() if isinstance(v, FormView) and v.creates and v.visible_to("supervisor")]
    return sorted(forms, key=lambda form: form.object != "Customer")


def sample(field, meta, relations, storage, unique):
    """A value for the form's ``field`` from its attribute's type; a reference names an
    existing object, by its key or by the attribute the field types (``by``), None when there
    is none: only optional references are left empty then."""
    name = field.name
    target = next((r["target"] for r in relations.values()
                   if r["kind"] == "many-to-one" and r["foreign_key"] == [name]), None)
    if target is not None:
        found = storage.query(target, None, None, 1)
        return str(found[0][field.by or storage.describe(target)["key"][0]]) if found else None
    if meta["choices"]:
        return meta["choices"][-1]
    if meta["type"] == "integer" and meta.get("max") is not None:
        return str(min(int(SAMPLES["integer"]), int(meta["max"])))       # within the model's range
    if meta["type"] in SAMPLES:
        return SAMPLES[meta["type"]]
    text = f"{name[:3]}{unique}"
    return text[-meta["length"]:] if meta["length"] else text


def test_every_new_form_of_the_vertical_saves(vertical):
    catalog, storage, (wide, phone) = vertical
    forms = creating_forms(catalog)
    assert forms, "the vertical has no create form"
    numbers = itertools.count(1)
    for form in forms:
        described = storage.describe(form.object)
        before = storage.count(form.object, None)
        phone.open(f"/views/{form.id}/new")
        page = wide.open(f"/views/{form.id}/new")
        controls = page.eval_on_selector_all(       # one round trip for what the loop reads of them
            "form.record [name]:not([type=hidden])",
            "cs => cs.map(c => [c.name, c.tagName, c.getAttribute('inputmode') || c.getAttribute('type')])")
        for name, tag, kind in controls:
            control = page.locator(f"form.record [name='{name}']")
            meta = described["attributes"][name]
            if meta["type"] == "boolean":
                control.check()
                continue
            value = ("ann@example.com" if kind == "email" else "+31 20 555 0101" if kind == "tel"
                     else sample(next(f for f in form.fields if f.name == name), meta, described["relations"], storage, next(numbers)))
            if value is None:
                assert not meta["required"], f"{form.id}: nothing to refer to for {name}"
            elif tag == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        page.click("button:has-text('Save')")
        page.wait_for_load_state()
        errors = page.evaluate("[...document.querySelectorAll('ul.error, .field-error')].map(e => e.innerText)")
        assert not errors and not page.url.endswith("/new"), (form.id, errors)
        wide.check_layout(f"{form.id} saved")
        assert storage.count(form.object, None) == before + 1, form.id
