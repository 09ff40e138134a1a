"""Pages over the storage service in-process: paging (a page past the last one goes to the
last), metadata cache, a view naming an attribute the model lacks, a 360 view over TLS."""
import codecs
import contextlib
import csv
import io
import re
import ssl
import subprocess
from zoneinfo import ZoneInfo

import httpx
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from caruso_frontoffice.deskphone import DeskPhone
from caruso_frontoffice.records import METADATA_SECONDS, Records
from frontoffice_support import QUICK_COST, VIEWS, add_users, form_fields, make_context, sign_in


@contextlib.contextmanager
def signed_in_with_views(path, manager_uri, text, packaged=True):
    """A front office with the views ``text`` (written to ``path``) over the packaged ones, or
    alone when not ``packaged``; ada signed in."""
    path.write_text(text)
    context = make_context(path.parent, manager_uri, views=[*VIEWS, path] if packaged else [path])
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "ada")
        yield web


def test_list_pages_page(tmp_path, caruso_manager, storage):
    for number in range(12):
        storage.create("Customer", {"name": f"Zeta {number:02d}", "segment": "public"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")
        first = web.get("/views/customers", params={"f.segment": "public"})
        assert "12 found · page 1 of 2" in first.text and "Zeta 09" in first.text and "Zeta 10" not in first.text
        assert 'Search <span class="hint">Name, Email, City</span> <input type="search"' in first.text   # looks in
        assert 'href="/views/customers?q=&amp;f.segment=public&amp;page=2"' in first.text
        second = web.get("/views/customers", params={"f.segment": "public", "page": "2"})
        assert "page 2 of 2" in second.text and "Zeta 11" in second.text and "Zeta 00" not in second.text
        assert "page 1 of" in web.get("/views/customers", params={"page": "-3"}).text
        beyond = web.get("/views/customers", params={"f.segment": "public", "sort": "name", "page": "999"},
                         follow_redirects=False)                  # past the last page: to the last one
        assert beyond.status_code == 303
        assert beyond.headers["location"] == "/views/customers?q=&f.segment=public&sort=name&page=2"
        last = web.get(beyond.headers["location"]).text
        assert "page 2 of 2" in last and "Zeta 11" in last and "page=3" not in last
        none = web.get("/views/customers", params={"q": "nobody", "page": "2"})
        assert none.status_code == 200 and "page 1 of 1" in none.text


def test_a_search_of_several_words_finds_what_has_each_in_some_field(tmp_path, caruso_manager, storage):
    storage.create("Customer", {"name": "Ann Smith", "city": "Berlin", "email": "ann@example.com"})
    storage.create("Customer", {"name": "Ann Jones", "city": "Bonn", "email": "NL91ABNA0417164300@example.com"})
    storage.create("Customer", {"name": "Bert Smith", "city": "Bonn"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")

        def found(text):
            page = web.get("/views/customers", params={"q": text}).text
            return sorted(re.findall(r'<a href="/views/customer-360/show\?id=\d+">([^<]+)</a>', page))

        assert found("ann") == ["Ann Jones", "Ann Smith"]
        assert found("smith berlin") == found("  Berlin   SMITH ") == ["Ann Smith"]     # in any order, any field
        assert found("smith bonn") == ["Bert Smith"] and found("smith ann bonn") == []
        assert found("NL91 ABNA 0417 1643 00") == ["Ann Jones"]                        # printed in groups
        assert found("ann smith jones") == [] and found("smith " * 10 + "ann") == ["Ann Smith"]   # each word once
        assert found("ann zzz") == [] and found("ann a n s m i t h zzz") == ["Ann Smith"]   # eight words, no more


def test_datetimes_show_as_people_write_them_in_pages_and_exports(tmp_path, caruso_manager, storage):
    storage.create("Activity", {"kind": "call", "subject": "Timely", "at": "2026-02-28T09:30:00"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "sam")
        for shown in (web.get("/views/activities").text, web.get("/views/activities/export.csv").text):
            assert "2026-02-28 09:30" in shown and "2026-02-28T09:30" not in shown


def test_in_a_time_zone_lists_exports_and_the_contact_history_show_its_times(tmp_path, caruso_manager, storage):
    storage.create("Activity", {"kind": "call", "subject": "Timely", "at": "2026-02-28T09:30:00"})     # UTC
    storage.add_contact("Customer", 1, {"channel": "phone", "summary": "Asked for a callback",
                                        "at": "2026-07-01T12:30:00+00:00"})
    zone = ZoneInfo("Asia/Kolkata")                                                                   # UTC+5:30
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri, zone=zone)),
                    base_url="http://testserver") as web:
        sign_in(web, "sam")
        for shown in (web.get("/views/activities").text, web.get("/views/activities/export.csv").text):
            assert "2026-02-28 15:00" in shown and "09:30" not in shown
        heading = next(csv.reader(io.StringIO(web.get("/views/activities/export.csv").text.lstrip("\ufeff"))))
        assert heading == ["When (Asia/Kolkata)", "Kind", "Subject", "Owner", "Done"]      # the file says its zone
        assert "1 found · page 1 of 1 · times in Asia/Kolkata" in web.get("/views/activities").text  # the list
        assert "times in" not in web.get("/views/customers").text                         # no times: no word
        history = web.get("/views/customer-360/show", params={"id": "1"}).text
        assert "2026-07-01 18:00 IST</time>" in history


def test_a_time_of_the_hour_the_clocks_pass_twice_is_kept_when_another_field_is_saved(tmp_path, caruso_manager,
                                                                                       storage):
    """02:30 comes twice in Amsterdam the night the clocks go back: a form shows both as
    02:30, and saving it must not move the second to the first."""
    first = storage.create("Activity", {"kind": "call", "subject": "Early", "at": "2026-10-25T00:30:00"})   # 02:30 CEST
    second = storage.create("Activity", {"kind": "call", "subject": "Late", "at": "2026-10-25T01:30:00"})   # 02:30 CET
    context = make_context(tmp_path, caruso_manager.uri, zone=ZoneInfo("Europe/Amsterdam"))
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "sam")
        for activity in (first, second):
            form = web.get("/views/activity-edit/edit", params={"id": activity["id"]}).text
            sent = form_fields(form)
            assert sent["at"] == "2026-10-25T02:30"
            saved = web.post(f"/views/activity-edit/edit?id={activity['id']}", data={**sent, "subject": "Moved?"},
                             follow_redirects=False)
            assert saved.status_code == 303, saved.text[:2000]
            assert storage.get("Activity", activity["id"])["at"] == activity["at"]
        form = web.get("/views/activity-edit/edit", params={"id": first["id"]}).text
        web.post(f"/views/activity-edit/edit?id={first['id']}", data={**form_fields(form), "at": "2026-10-25T03:30"})
        assert storage.get("Activity", first["id"])["at"] == "2026-10-25T02:30:00"        # a change is one


def test_csv_export_shows_what_the_role_sees_and_defuses_formulas(tmp_path, caruso_manager, storage):
    storage.create("Customer", {"name": "=HYPERLINK(\"http://evil.example\")", "phone": "+1 555 0100",
                                "segment": "public"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")                                     # an agent: the override hides phone numbers
        exported = web.get("/views/customers/export.csv", params={"f.segment": "public", "sort": "-name"})
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.content.startswith(codecs.BOM_UTF8 + b'"Name",')    # Excel reads it as UTF-8
        lines = exported.text.splitlines()
        assert "+1 555 0100" not in exported.text and len(lines) == 2
        assert lines[1].startswith("\"'=HYPERLINK(")
        assert web.get("/views/customers/export.csv", params={"f.active": "perhaps"}).status_code == 400
        for title in ("-12.50", "+1-202-555-0101", "+3:3"):
            storage.create("Opportunity", {"title": title, "stage": "initiation", "customer_id": 1})
        rows = list(csv.reader(io.StringIO(web.get("/views/opportunities/export.csv").content.decode("utf-8-sig"))))
        titles = {row[0] for row in rows[1:]}
        assert {"-12.50", "'+1-202-555-0101", "'+3:3"} <= titles    # a number as it is; what a sheet would compute


def test_a_form_goes_back_only_to_pages_of_this_site(tmp_path, caruso_manager, storage):
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")
        for target, kept in (("/views/customer-360/show?id=1", True), ("https://evil.example/", False),
                             ("//evil.example/views/", False), ("/views/../admin/users", False)):
            page = web.get("/views/task-edit/new", params={"customer_id": "1", "next": target}).text
            assert (f'name="next" value="{target}"' in page) == kept, target
        blank = web.get("/views/task-edit/new", params={"customer_id": "1"})     # Back may show it again
        assert blank.status_code == 200 and blank.headers["cache-control"] == "private, no-cache"
        assert "Customer id" in blank.text and "Customer number" not in blank.text   # the key, not a vertical's number
        assert web.get("/views/customer-edit/edit", params={"id": "1"}).headers["cache-control"] == "no-store"


def test_the_whole_contact_history_is_reachable_page_by_page(tmp_path, caruso_manager, storage):
    for number in range(120):
        storage.add_contact("Customer", 1, {"channel": ("phone", "email")[number % 2], "summary": f"contact {number:03d}"})
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")
        newest = web.get("/views/customer-360/show", params={"id": "1"}).text
        assert "contact 119" in newest and "contact 070" in newest and "contact 069" not in newest
        assert 'history=2">older</a>' in newest and ">newer<" not in newest
        last = web.get("/views/customer-360/show", params={"id": "1", "history": "3"}).text
        assert "contact 019" in last and "contact 000" in last and ">older<" not in last
        assert 'history=2">newer</a>' in last and '<li value="101">' in last


def test_a_related_list_for_other_roles_is_not_on_their_customer_360(tmp_path, caruso_manager, storage):
    """The override keeps the task list for supervisors and admins: its rows, which open only
    for them, are not on an agent's 360 either."""
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        for name, shown in (("sam", True), ("ada", False)):
            sign_in(web, name)
            page = web.get("/views/customer-360/show", params={"id": "1"}).text
            assert ("<h2>Tasks</h2>" in page) is shown and "<h2>Activities</h2>" in page, name
            assert '">No activities.</td>' in page, name      # an empty table says what it lacks


def test_metadata_is_cached_for_a_few_seconds(storage):
    now = [0.0]
    records = Records(storage, clock=lambda: now[0])
    first = records.info("Customer")
    assert records.info("Customer") is first
    now[0] = METADATA_SECONDS + 1
    assert records.info("Customer") is not first and records.info("Customer").key == ("id",)


def test_a_view_naming_an_unknown_attribute_shows_the_storage_error(tmp_path, caruso_manager, storage):
    with signed_in_with_views(tmp_path / "odd.xml", caruso_manager.uri, """<views>
  <list id="odd" object="Customer"><search fields="shoe_size"/><column field="name"/></list>
  <customer360 id="odd-360" object="Customer"><profile detail="plain"/>
    <related object="Contact" field="shoe_size" label="Contacts"/></customer360>
  <detail id="plain" object="Customer"><section label="P"><field name="name"/></section></detail>
</views>""", packaged=False) as web:
        listing = web.get("/views/odd", params={"q": "x"})
        assert listing.status_code == 200 and "shoe_size" in listing.text and "0 found" in listing.text
        full = web.get("/views/odd-360/show", params={"id": "1"})
        assert full.status_code == 502 and "The storage service refused the request" in full.text
        for page in ("/views/odd-360/show", "/views/plain/show", "/views/odd/show"):        # no such customer
            gone = web.get(page, params={"id": "999999"})
            assert gone.status_code == 404 and "There is no customer 999999: it may have been deleted." in gone.text


def test_a_column_naming_a_customer_opens_their_360_from_lists_and_related_tables(tmp_path, caruso_manager,
                                                                                 storage):
    task = storage.create("Task", {"subject": "Call back", "customer_id": 1, "assignee": "ada"})
    loose = storage.create("Task", {"subject": "Tidy up"})
    with signed_in_with_views(tmp_path / "tasks.xml", caruso_manager.uri, """<views>
  <list id="all-tasks" object="Task" form="task-edit">
    <column field="subject"/><column field="customer_id" label="Customer" open="customer-360"/>
    <column field="assignee" open="customer-360"/>
  </list>
  <list id="customer-tasks" object="Task" form="task-edit">
    <column field="customer_id" label="Customer" open="customer-360"/><column field="subject"/>
  </list>
  <customer360 id="with-tasks" object="Customer"><profile detail="customer"/>
    <related object="Task" field="customer_id" label="Tasks" list="all-tasks"/></customer360>
</views>""") as web:
        listing = web.get("/views/all-tasks").text
        assert (f'<td><a href="/views/task-edit/edit?id={task["id"]}">Call back</a></td>'
                '<td><a href="/views/customer-360/show?id=1">1</a></td><td>ada</td>') in listing   # assignee: no relation
        assert f'<td><a href="/views/task-edit/edit?id={loose["id"]}">Tidy up</a></td><td></td><td></td>' in listing
        first = web.get("/views/customer-tasks").text          # a column opening a 360 leaves the row to the next
        assert (f'<td><a href="/views/customer-360/show?id=1">1</a></td>'
                f'<td><a href="/views/task-edit/edit?id={task["id"]}">Call back</a></td>') in first
        related = web.get("/views/with-tasks/show", params={"id": "1"}).text        # not the 360's own customer
        assert (f'<tr><td><a href="/views/task-edit/edit?id={task["id"]}">Call back</a></td><td>ada</td></tr>'
                in related)
        storage.delete("Task", task["id"])
        assert '">No tasks.</td>' in web.get("/views/with-tasks/show", params={"id": "1"}).text


def test_a_column_by_another_attribute_shows_it_in_lists_related_tables_and_exports_and_opens_by_key(
        tmp_path, caruso_manager, storage):
    ann = storage.create("Customer", {"name": "Ann =Arbor"})
    deal = storage.create("Opportunity", {"customer_id": ann["id"], "title": "Heat pumps"})
    mine = storage.create("SalesOrder", {"customer_id": ann["id"], "title": "Boiler", "amount": "10.00",
                                         "opportunity_id": deal["id"]})
    lost = storage.create("SalesOrder", {"customer_id": 999999, "title": "Orphan", "amount": "1.00"})
    with signed_in_with_views(tmp_path / "orders.xml", caruso_manager.uri, """<views>
  <list id="orders" object="SalesOrder">
    <column field="title"/><column field="customer_id" label="Customer" open="customer-360" by="name"/>
    <column field="opportunity_id" label="Deal" by="title"/>
  </list>
  <customer360 id="with-orders" object="Customer"><profile detail="customer"/>
    <related object="SalesOrder" field="customer_id" label="Orders" list="orders"/></customer360>
</views>""") as web:
        listing = web.get("/views/orders").text
        assert (f'<td><a href="/views/orders/show?id={mine["id"]}">Boiler</a></td>'
                f'<td><a href="/views/customer-360/show?id={ann["id"]}">Ann =Arbor</a></td><td>Heat pumps</td>'
                ) in listing
        assert (f'<td><a href="/views/orders/show?id={lost["id"]}">Orphan</a></td>'    # naming nobody: the key
                '<td><a href="/views/customer-360/show?id=999999">999999</a></td><td></td>') in listing
        assert "<th>Customer</th>" in listing and "<th>Deal</th>" in listing and "sort=customer_id" not in listing
        assert "sort=title" in listing                       # by another object's attribute: not sorted by key
        assert web.get("/views/orders?sort=-customer_id").text == listing   # asked anyway: the view's order
        opened = web.get(f"/views/orders/show?id={mine['id']}").text    # a row shown with the list's columns
        assert f'<dd><a href="/views/customer-360/show?id={ann["id"]}">Ann =Arbor</a></dd>' in opened
        assert "<dd>Heat pumps</dd>" in opened                               # no open: no link
        exported = web.get("/views/orders/export.csv").text.splitlines()
        assert '"Boiler","Ann =Arbor","Heat pumps"' in exported and '"Orphan","999999",""' in exported
        related = web.get("/views/with-orders/show", params={"id": ann["id"]}).text
        assert f'<td><a href="/views/orders/show?id={mine["id"]}">Boiler</a></td><td>Heat pumps</td>' in related


def test_a_360s_related_table_shows_the_first_rows_in_the_lists_order_and_says_when_more_exist(
        tmp_path, caruso_manager, storage):
    ann, bo = storage.create("Customer", {"name": "Ann"})["id"], storage.create("Customer", {"name": "Bo"})["id"]
    for day in (3, 1, 5, 2, 4):                                     # made out of their order
        storage.create("Activity", {"customer_id": ann, "kind": "call", "subject": f"Call {day}",
                                    "at": f"2026-11-0{day}T10:00:00"})
    storage.create("Activity", {"customer_id": bo, "kind": "call", "subject": "Call Bo", "at": "2026-11-09T10:00:00"})
    with signed_in_with_views(tmp_path / "calls.xml", caruso_manager.uri, """<views>
  <list id="calls" object="Activity" page-size="3"><filter field="customer_id"/>
    <column field="subject"/><column field="at"/><order field="at" descending="true"/></list>
  <list id="calls-unfiltered" object="Activity" page-size="3">
    <column field="subject"/><order field="at"/></list>
  <customer360 id="with-calls" object="Customer"><profile detail="customer"/>
    <related object="Activity" field="customer_id" label="Calls" list="calls"/>
    <related object="Activity" field="customer_id" label="Oldest calls" list="calls-unfiltered"/></customer360>
</views>""") as web:
        page = web.get("/views/with-calls/show", params={"id": ann}).text
        newest, oldest = page.split("<h2>Oldest calls</h2>")
        assert re.findall(r">Call (\d)<", newest) == ["5", "4", "3"] and re.findall(r">Call (\d)<", oldest) == ["1", "2", "3"]
        assert (f'<p class="more">Only the first 3 are shown. <a href="/views/calls?f.customer_id={ann}">See them '
                'all</a></p>') in newest
        assert '<p class="more">Only the first 3 are shown.</p>' in oldest          # that list cannot filter by her
        listed = web.get(f"/views/calls?f.customer_id={ann}").text
        assert "5 found" in listed and "Call Bo" not in listed
        assert 'class="more"' not in web.get("/views/with-calls/show", params={"id": bo}).text


def test_a_detail_view_shows_the_objects_that_point_at_its_record(tmp_path, caruso_manager, storage):
    """An invoice's payments, a firm's calls: a detail view's related tables, as on a 360 (the
    list's columns and order, the first rows, a link to the rest), those of a list for other
    roles left out; the row's own reference to the record is not repeated."""
    ann, bo = storage.create("Customer", {"name": "Ann"})["id"], storage.create("Customer", {"name": "Bo"})["id"]
    for day in (3, 1, 2):
        storage.create("Activity", {"customer_id": ann, "kind": "call", "subject": f"Call {day}",
                                    "at": f"2026-11-0{day}T10:00:00"})
    storage.create("Contact", {"customer_id": ann, "name": "Carl Meier", "role": "buyer"})
    task = storage.create("Task", {"customer_id": ann, "subject": "Send the offer"})
    with signed_in_with_views(tmp_path / "firm.xml", caruso_manager.uri, """<views>
  <list id="calls" object="Activity" page-size="2" form="call-edit"><filter field="customer_id"/>
    <column field="subject"/><column field="customer_id"/><order field="at" descending="true"/></list>
  <form id="call-edit" object="Activity"><field name="subject"/></form>
  <list id="secret-tasks" object="Task" roles="supervisor admin"><column field="subject"/></list>
  <detail id="firm" object="Customer" title="Firm"><section label="Firm"><field name="name"/></section>
    <related object="Activity" field="customer_id" label="Calls" list="calls"/>
    <related object="Contact" field="customer_id" label="People"/>
    <related object="Task" field="customer_id" label="Tasks" list="secret-tasks"/></detail>
</views>""") as web:
        page = web.get("/views/firm/show", params={"id": ann}).text
        assert "<h2>Firm</h2>" in page and "<h2>Tasks</h2>" not in page and "Send the offer" not in page
        calls, people = page.split("<h2>Calls</h2>")[1].split("<h2>People</h2>")
        assert re.findall(r">Call (\d)<", calls) == ["3", "2"] and "<th>Customer id</th>" not in calls
        assert re.search(r'<a href="/views/call-edit/edit\?id=\d+[^"]*">Call 3</a>', calls)
        assert (f'<p class="more">Only the first 2 are shown. <a href="/views/calls?f.customer_id={ann}">See them '
                'all</a></p>') in calls
        assert "<td>Carl Meier</td><td>buyer</td>" in people               # no list: its first attributes
        empty = web.get("/views/firm/show", params={"id": bo}).text
        assert '">No calls.</td>' in empty and '">No people.</td>' in empty and 'class="more"' not in empty
        sign_in(web, "sam")
        page = web.get("/views/firm/show", params={"id": ann}).text
        assert "<h2>Tasks</h2>" in page and "Send the offer" in page and task["subject"] == "Send the offer"


def test_the_sign_in_page_offers_phones_only_where_a_telephony_component_runs(web):
    page = web.get("/signin").text                      # none runs here: choosing one would be refused
    assert 'name="password"' in page and 'name="phone"' not in page and 'name="number"' not in page


def test_forms_with_files_are_refused(web):
    csrf = web.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
    response = web.post("/signin", data={"csrf": csrf, "name": "ada"}, files={"password": ("a.txt", b"x")})
    assert response.status_code == 400


def test_served_over_https_with_secure_cookies_and_hsts(tmp_path, caruso_host, caruso_client, storage):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "fo.key", "-out", "fo.crt", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=tmp_path, check=True, capture_output=True)
    db = f"sqlite:///{tmp_path / 'tls.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "https://127.0.0.1:0", "db": db, "certfile": str(tmp_path / "fo.crt"),
                                       "keyfile": str(tmp_path / "fo.key")})
    url = caruso_client.get("frontoffice").url()
    assert url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(tmp_path / "fo.crt")),
                      timeout=30) as web:
        response = sign_in(web, "ada")
        assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        home = web.get("/")
        assert "Welcome, ada" in home.text and home.headers["strict-transport-security"] == "max-age=31536000"


def test_whether_telephony_runs_is_asked_of_the_manager_at_most_every_ten_seconds():
    class Manager:                                    # the client's manager: telephony registered or not
        asked, registered = 0, False

        def service(self, name):
            return None

        def lookup(self, name):
            self.asked += 1
            return [{"name": "telephony"}] if self.registered else []

    now, manager = [100.0], Manager()
    phone = DeskPhone(manager, clock=lambda: now[0])
    assert phone.available() is False
    manager.registered = True
    now[0] += 9.9
    assert phone.available() is False and manager.asked == 1          # the sign-in page cannot make it ask
    now[0] += 0.1
    assert phone.available() is True and manager.asked == 2
