"""A form shows the storage's refusal of one field beside that field, served against the real
storage with the example CRM model and views (whose lead form has no detail view)."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from caruso_core.errors import CallTimedOut
from caruso_frontoffice.records import Records
from frontoffice_support import DESKTOP, PHONE, Tab, csrf_of, host_vertical, sign_in


def words(html):
    return " ".join(html.split())


def post_lead(web, values):
    form = web.get("/views/lead-edit/new")
    return web.post("/views/lead-edit/new", data={"csrf": csrf_of(form.text), "status": "new", "source": "web",
                                                   "score": "0", **values})


def test_a_refused_field_is_shown_beside_it_and_a_duplicate_links_to_the_other_object(front_office, storage):
    first = storage.create("Lead", {"name": "Ann Smith", "email": "ann.smith@example.com", "phone": "+1 555 0100"})
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        duplicate = post_lead(web, {"name": "A. Smith", "email": "Ann.Smith@Example.com"})
        assert duplicate.status_code == 400
        assert (f'<input name="email" value="Ann.Smith@Example.com" maxlength="200" type="text" inputmode="email"> '
                f'<span class="field-error" role="alert">Lead {first["id"]} (Ann Smith) has the same '
                f'email already <a href="/views/lead-edit/edit?id={first["id"]}">Open lead {first["id"]}</a></span>'
                in words(duplicate.text))                              # no lead detail view: the form edits it
        assert '<ul class="error"' not in duplicate.text
        malformed = post_lead(web, {"name": "A. Smith", "email": "ann@example..com"})   # passes the widget
        assert malformed.status_code == 400
        assert '<span class="field-error" role="alert">Not an e-mail address</span>' in words(malformed.text)
        opened = web.get(f"/views/lead-edit/edit?id={first['id']}")
        assert opened.status_code == 200 and 'value="ann.smith@example.com"' in opened.text
    assert [lead["name"] for lead in storage.query("Lead", None)] == ["Ann Smith"]


def test_a_value_out_of_the_models_range_is_refused_beside_its_field(front_office, storage):
    whole = 'maxlength="1000" type="text" inputmode="numeric" pattern="-?[0-9]+" title="a whole number"'
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        assert f'<input name="score" value="0" {whole}>' in words(web.get("/views/lead-edit/new").text)
        beyond = post_lead(web, {"name": "Ann Smith", "score": "150"})
        assert beyond.status_code == 400
        assert (f'value="150" {whole}> '
                '<span class="field-error" role="alert">150 is above 100, the most allowed</span>') in words(beyond.text)
        refused = post_lead(web, {"name": "Ann Smith", "score": "4,5"})
        assert '<span class="field-error" role="alert">A whole number, please</span>' in words(refused.text)
        assert post_lead(web, {"name": "Ann Smith", "score": "100"}).status_code == 303
        form, customer = web.get("/views/opportunity-edit/new").text, storage.query("Customer", None)[0]["id"]
        huge = web.post("/views/opportunity-edit/new", data={
            "csrf": csrf_of(form), "title": "Meters", "stage": "initiation", "deal_size": "1" + "0" * 400,
            "customer_id": customer})
        assert huge.status_code == 400                            # beyond the column's 14 digits, said briefly
        assert ('<span class="field-error" role="alert">A number of 401 digits is out of range for its column '
                '(between -1000000000000 and 1000000000000)</span>') in words(huge.text)
        written = web.post("/views/opportunity-edit/new", data={
            "csrf": csrf_of(form), "title": "Meters", "stage": "initiation", "deal_size": "1e4",
            "customer_id": customer})                              # no exponents: a form takes digits
        assert written.status_code == 400 and "A number like 1234.50, please</span>" in written.text
    assert [(lead["name"], lead["score"]) for lead in storage.query("Lead", None)] == [("Ann Smith", 100)]


def test_a_form_naming_an_object_the_storage_does_not_hold_is_refused_beside_the_field(front_office, storage):
    """Relations are no constraints of the storage: a task for customer 999999 would be an
    orphan no customer 360 lists. The form checks the customers its relation names, those
    the user entered (a value stored before is left alone)."""
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        csrf = csrf_of(web.get("/views/task-edit/new").text)
        orphan = web.post("/views/task-edit/new", data={"csrf": csrf, "subject": "Call back", "customer_id": "999999"})
        assert orphan.status_code == 400
        assert ('<span class="field-error" role="alert">There is no customer with id 999999</span>'
                in words(orphan.text)) and 'value="999999"' in orphan.text           # given back
        forged = web.post("/views/task-edit/new", data={"csrf": csrf, "subject": "Call back", "customer_id": "999999",
                                                        "_was": json.dumps({"customer_id": "999999"})})
        assert forged.status_code == 400                                     # a new form: every value is checked
        assert storage.query("Task", None) == []
        made = web.post("/views/task-edit/new", data={"csrf": csrf, "subject": "Call back",
                                                      "customer_id": str(acme["id"])})
        assert made.status_code == 303
        [task] = storage.query("Task", None)
        gone = storage.create("Customer", {"name": "Gone GmbH"})
        storage.update("Task", task["id"], {"customer_id": gone["id"]})
        storage.delete("Customer", gone["id"])                                 # the task now names nobody
        edit = web.get(f"/views/task-edit/edit?id={task['id']}").text
        was = re.search(r'name="_was" value="([^"]*)"', edit).group(1)
        renamed = web.post(f"/views/task-edit/edit?id={task['id']}", data={
            "csrf": csrf, "subject": "Call back on Monday", "customer_id": str(gone["id"]),
            "_version": re.search(r'name="_version" value="([^"]*)"', edit).group(1), "_was": html.unescape(was)})
        assert renamed.status_code == 303                                     # its customer was not entered here
    assert [task["subject"] for task in storage.query("Task", None)] == ["Call back on Monday"]


def once_of(html_text):
    return re.search(r'name="_once" value="([^"]+)"', html_text).group(1)


def test_a_new_form_sent_again_goes_to_the_record_it_made_instead_of_making_another(front_office, storage):
    """A double click, Back and Save, a browser repeating the post: the same new form sent
    again, one after the other or at once, makes one record; a save refused gives the form's
    token back, so the form corrected makes its record; a token that could not be one is
    ignored (the form saves as any other post would)."""
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        opened = web.get("/views/task-edit/new").text
        csrf, once = csrf_of(opened), once_of(opened)
        task = {"csrf": csrf, "_once": once, "subject": "Send the brochure", "customer_id": str(acme["id"])}
        first = web.post("/views/task-edit/new", data=task)
        again = web.post("/views/task-edit/new", data=task)
        assert first.status_code == again.status_code == 303
        assert again.headers["location"] == first.headers["location"]
        assert "This form was saved already: here is the record it made." in web.get(again.headers["location"]).text
        assert [t["subject"] for t in storage.query("Task", None)] == ["Send the brochure"]

        once = once_of(web.get("/views/task-edit/new").text)
        refused = web.post("/views/task-edit/new", data={**task, "_once": once, "subject": "Call back",
                                                         "customer_id": "999999"})
        assert refused.status_code == 400 and once_of(refused.text) == once          # the same form, given back
        assert web.post("/views/task-edit/new", data={**task, "_once": once, "subject": "Call back"}).status_code == 303

        once = once_of(web.get("/views/task-edit/new").text)
        with ThreadPoolExecutor(4) as pool:                                 # four posts of one form at once
            answers = list(pool.map(lambda _: web.post("/views/task-edit/new", data={
                **task, "_once": once, "subject": "Meter photo"}).status_code, range(4)))
        assert 303 in answers and set(answers) <= {303, 409}             # 409: while the first is saving
        for forged in ("../../etc", "x" * 5000, ""):
            assert web.post("/views/task-edit/new", data={**task, "_once": forged,
                                                          "subject": "Forged"}).status_code == 303
    subjects = sorted(t["subject"] for t in storage.query("Task", None))
    assert subjects == ["Call back", "Forged", "Forged", "Forged", "Meter photo", "Send the brochure"]


def test_a_save_whose_answer_was_lost_keeps_its_token_and_a_next_page_cannot_carry_cookie_attributes(
        front_office, storage, monkeypatch):
    """The storage made the record but its answer was lost (a timeout): the form sent again
    makes no second record and says to look for it. A ``next`` page with ``;`` (which a
    notice cookie's path would take as attributes) is not followed."""
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]
    create = Records.create

    def made_but_lost(records, object_name, values):
        create(records, object_name, values)
        raise CallTimedOut("caruso.storage/1 at PYRO:storage@127.0.0.1:1 did not answer create() within 15 s")
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        opened = web.get("/views/task-edit/new").text
        task = {"csrf": csrf_of(opened), "_once": once_of(opened), "subject": "Read the meter",
                "customer_id": str(acme["id"])}
        monkeypatch.setattr(Records, "create", made_but_lost)      # the front office's hosts run in this process
        lost = web.post("/views/task-edit/new", data=task)
        monkeypatch.undo()
        assert lost.status_code == 503 and "did not answer create()" in html.unescape(lost.text)
        again = web.post("/views/task-edit/new", data=task)
        assert again.status_code == 409 and "look for the record before you open a new form" in again.text
        assert len(storage.query("Task", None)) == 1
        opened = web.get("/views/task-edit/new?next=" + "/views/tasks;Max-Age=99999999;Path=/").text
        assert 'name="next"' not in opened
        saved = web.post("/views/task-edit/new", data={**task, "_once": once_of(opened), "subject": "Next",
                                                        "next": "/views/tasks;Max-Age=99999999;Path=/"},
                         follow_redirects=False)
        assert saved.status_code == 303 and ";" not in saved.headers["location"]
        assert web.post("/views/task-edit/new", data={**task, "_once": once_of(opened), "subject": "Next",
                                                       "next": "/views/tasks"}).status_code == 303


def test_a_value_beyond_another_field_is_refused_beside_the_field_the_user_changed(caruso_host, caruso_client,
                                                                                   tmp_path):
    """The service vertical's orders: *Respond by* may not be before *Opened* (``min="opened"``)."""
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "service")
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Bakkerij Jansen"})
    order = {"customer_id": "S-1", "problem": "No hot water", "priority": "high",
             "opened": "2026-05-04T10:30", "respond_by": "2026-05-04T09:00"}
    with httpx.Client(base_url=url) as web:
        assert sign_in(web, "sam").status_code == 303
        form = web.get("/views/order-new/new")
        early = web.post("/views/order-new/new", data={"csrf": csrf_of(form.text), **order})
        assert early.status_code == 400
        assert ('value="2026-05-04T09:00" maxlength="1000" type="datetime-local" > '
                '<span class="field-error" role="alert">2026-05-04 09:00 is before Opened, which is '
                '2026-05-04 10:30</span>') in words(early.text)
        assert storage.count("FieldServiceOrder", None) == 0
        saved = web.post("/views/order-new/new", data={"csrf": csrf_of(form.text), **order,
                                                        "respond_by": "2026-05-04T18:30"})
        assert saved.status_code == 303
        [stored] = storage.query("FieldServiceOrder", None)
        detail = web.get(f"/views/order/show?id={stored['id']}").text          # its customer one click away
        assert f'<dd><a href="/views/customer-360/show?id={customer["id"]}">S-1</a></dd>' in detail
        edit = web.get(f"/views/order-edit/edit?id={stored['id']}")
        fields = {name: value for name, value in re.findall(r'name="(_\w+|csrf)" value="([^"]*)"', edit.text)}
        moved = web.post(f"/views/order-edit/edit?id={stored['id']}", data={
            **{name: html.unescape(value) for name, value in fields.items()}, "priority": "high", "status": "open",
            "respond_by": "2026-05-03T18:30", "engineer": ""})
        assert moved.status_code == 400
        assert ('<span class="field-error" role="alert">2026-05-03 18:30 is before Opened, which is '
                '2026-05-04 10:30</span>') in words(moved.text)
        storage.update("FieldServiceOrder", stored["id"], {"engineer": "Piet"})
        stale = web.post(f"/views/order-edit/edit?id={stored['id']}", data={
            **{name: html.unescape(value) for name, value in fields.items()}, "priority": "high", "status": "open",
            "respond_by": "2026-05-04T19:30", "engineer": ""})       # named by the model's label
        assert stale.status_code == 409
        assert f"Field service order {stored['id']} was saved by someone else" in stale.text
    assert storage.get("FieldServiceOrder", stored["id"])["respond_by"] == "2026-05-04T18:30:00"
    other = storage.create("Customer", {"customer_no": "S-2", "name": "Hotel Visser"})
    storage.create("Installation", {"customer_id": other["id"], "serial_no": "HB-7", "product": "Boiler",
                                    "installed": "2025-06-01"})
    with httpx.Client(base_url=url) as web:                 # the model's rule, beside the field it names
        assert sign_in(web, "sam").status_code == 303
        form = web.get("/views/order-new/new")
        theirs = web.post("/views/order-new/new", data={"csrf": csrf_of(form.text), **order,
                                                         "respond_by": "2026-05-04T18:30", "installation_id": "HB-7"})
        assert theirs.status_code == 400
        assert ('value="HB-7" maxlength="30" type="text" > <span class="field-error" role="alert">Equipment HB-7 is '
                "another customer&#39;s</span>") in words(theirs.text)
        listed = web.get("/views/installations").text        # the owner by number, opening their 360
        assert f'<a href="/views/customer-360/show?id={other["id"]}">S-2</a>' in listed
        mistyped = web.post("/views/order-new/new", data={"csrf": csrf_of(form.text), **order,
                                                           "respond_by": "2026-05-04T18:30", "installation_id": "HB-9"})
        assert mistyped.status_code == 400
        assert "There is no installed equipment with serial number HB-9" in words(mistyped.text)


def test_a_choice_the_model_defaults_cannot_be_emptied_in_the_browser_unless_stored_empty_and_now_is_the_minute(
        caruso_host, caruso_client, tmp_path):
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "service")
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Bakkerij Jansen"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "No hot water",
                                                 "opened": "2026-05-04T10:30:00"})
    bare = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "Noise",
                                                "opened": "2026-05-04T10:30:00", "status": None})
    with httpx.Client(base_url=url) as web:
        assert sign_in(web, "sam").status_code == 303
        assert '<select name="status" required>' in web.get(f"/views/order-edit/edit?id={order['id']}").text
        assert '<select name="status">' in web.get(f"/views/order-edit/edit?id={bare['id']}").text
        before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)
        new = web.get("/views/order-new/new").text
        after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        assert '<select name="priority" required>' in new                  # the default chosen
        assert 'Opened <abbr title="required">*</abbr> <span class="hint">(UTC)</span>' in new   # what it is typed in
        opened = dt.datetime.fromisoformat(re.search(r'<input name="opened" value="([^"]+)"', new)[1])
        assert before <= opened <= after and re.search(r'value="\d{4}-\d\d-\d\dT\d\d:\d\d" maxlength="\d+"\s+'
                                                       r'type="datetime-local"', new)   # default="now": to the minute


@pytest.mark.browser
def test_a_whole_number_typed_with_a_decimal_comma_is_refused_in_the_browser_not_read_as_another(tab, storage):
    """Chromium's number input reads 4,5 as 45 and sends that; the form's text input refuses it."""
    sam = tab()
    sam.sign_in("sam").wait_for_url("**/")
    page = sam.open("/views/lead-edit/new")
    page.fill("input[name=name]", "Ann Smith")
    page.click("input[name=score]")
    page.fill("input[name=score]", "")
    page.keyboard.type("4,5")
    page.click("button:has-text('Save')")
    assert page.eval_on_selector("input[name=score]", "e => e.validity.patternMismatch") is True
    assert page.url.endswith("/views/lead-edit/new") and storage.query("Lead", None) == []


@pytest.mark.browser
def test_a_record_whose_e_mail_the_browser_would_refuse_is_saved_when_another_field_changes(tab, storage):
    """The storage takes zoë@example.nl (an import, another client); an input of type email
    would not let the form be sent at all, whatever field the user changed."""
    lead = storage.create("Lead", {"name": "Zoe", "email": "zoë@example.nl", "score": 0})
    sam = tab()
    sam.sign_in("sam").wait_for_url("**/")
    page = sam.open(f"/views/lead-edit/edit?id={lead['id']}")
    page.fill("input[name=name]", "Zoë Ünal")
    page.click("button:has-text('Save')")
    page.wait_for_load_state()
    assert storage.get("Lead", lead["id"])["name"] == "Zoë Ünal"


@pytest.mark.browser
def test_a_long_read_only_value_wraps_within_its_form_on_a_phone_and_a_desktop(caruso_host, caruso_client, tmp_path,
                                                                                  browser):
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "service")
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Bakkerij Jansen"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "opened": "2026-05-04T10:30:00",
                                                 "problem": "See https://example.com/" + "x" * 3000})
    for size in (PHONE, DESKTOP):
        seen = Tab(browser, url, size, None)
        try:
            seen.sign_in("sam").wait_for_url("**/")
            seen.open(f"/views/order-edit/edit?id={order['id']}")          # no wider than the screen
        finally:
            seen.close()
