"""The audit trail of the forms: who created, changed or deleted which record, when, and which
fields they gave or changed. The edit page lists a record's changes; the admin's audit page
lists everyone's, of one user if asked, a page at a time. A save the storage refuses is not
recorded. Served against the real storage with the example CRM views."""
from __future__ import annotations

import html
import re

import httpx
import pytest
import sqlalchemy as sa

from caruso_core.errors import ConfigError
from caruso_frontoffice.audit import AuditTrail
from caruso_frontoffice.database import open_database
from caruso_frontoffice.service import FrontOffice
from frontoffice_support import csrf_of, sign_in


def hidden(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to ``action`` on ``page``."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S).group(1)
    return {name: html.unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}


def trail(page: str) -> list[str]:
    """The edit page's list of changes, one line each, without the time."""
    section = re.search(r'<section class="audit".*?</section>', page, re.S)
    return [" ".join(re.sub(r"<time>.*?</time>", "", item).split())
            for item in re.findall(r"<li>(.*?)</li>", section.group(0), re.S)] if section else []


def rows(page: str) -> list[list[str]]:
    """The admin audit page's rows, without the time."""
    return [[html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)][1:]
            for row in re.findall(r'<tr data-entry="\d+">(.*?)</tr>', page, re.S)]


def test_creates_edits_and_deletes_are_listed_with_their_users_and_fields(front_office, storage):
    with httpx.Client(base_url=front_office) as sam, httpx.Client(base_url=front_office) as ada:
        assert sign_in(sam, "sam").status_code == 303
        new = sam.get("/views/task-edit/new").text
        made = sam.post("/views/task-edit/new",
                        data={**hidden(new, "/views/task-edit/new"), "subject": "Call Ann back"})
        assert made.status_code == 303
        task = next(t for t in storage.query("Task") if t["subject"] == "Call Ann back")
        edit = f"/views/task-edit/edit?id={task['id']}"
        assert sign_in(ada, "ada").status_code == 303
        form = ada.get(edit).text
        assert trail(form) == ["sam created it: Subject, Done"]             # an unticked box is a value
        new = sam.get("/views/task-edit/new").text
        too_long = sam.post("/views/task-edit/new", data={**hidden(new, "/views/task-edit/new"), "subject": "x" * 500})
        assert too_long.status_code == 400                  # a create refused: nothing to record
        changed = ada.post(edit, data={**hidden(form, edit), "subject": "Call Ann back today", "assignee": "ada"})
        assert changed.status_code == 303
        refused = ada.post(edit, data={**hidden(ada.get(edit).text, edit), "subject": "x" * 500})
        assert refused.status_code == 400                     # refused: nothing to record
        unchanged = ada.post(edit, data={**hidden(ada.get(edit).text, edit), "subject": "Call Ann back today",
                                         "assignee": "ada"})
        assert unchanged.status_code == 303                   # saved as it was: nothing to record
        form = sam.get(edit).text
        assert trail(form) == ["ada changed it: Subject, Assignee", "sam created it: Subject, Done"]
        delete = f"/views/task-edit/delete?id={task['id']}"
        gone = sam.post(delete, data={**hidden(form, delete), "confirm": "yes"})
        assert gone.status_code == 303 and storage.count("Task", {"field": "id", "op": "eq", "value": task["id"]}) == 0
    key = f"id={task['id']}"
    with httpx.Client(base_url=front_office) as root:
        assert sign_in(root, "root").status_code == 303
        listed = root.get("/admin/audit").text
        assert rows(listed) == [["sam", "deleted", f"Task {key}", ""],
                                    ["ada", "changed", f"Task {key}", "assignee, subject"],
                                    ["sam", "created", f"Task {key}", "done, subject"]]
        assert rows(root.get("/admin/audit?user=ada").text) == [      # the deletion is not on this page: a link
            ["ada", "changed", f'<a href="/views/tasks/show?{key}">Task {key}</a>', "assignee, subject"]]
        assert rows(root.get("/admin/audit?user=%20ADA").text) == rows(root.get("/admin/audit?user=ada").text)
        assert "No change by nobody in the audit trail." in root.get("/admin/audit?user=nobody").text


def test_the_audit_page_links_each_record_to_where_it_opens_unless_it_was_deleted(front_office, storage):
    with httpx.Client(base_url=front_office) as sam:
        assert sign_in(sam, "sam").status_code == 303
        made = {}
        for subject in ("Kept", "Deleted"):
            new = sam.get("/views/task-edit/new").text
            assert sam.post("/views/task-edit/new", data={**hidden(new, "/views/task-edit/new"),
                                                          "subject": subject}).status_code == 303
            made[subject] = next(t["id"] for t in storage.query("Task") if t["subject"] == subject)
        new = sam.get("/views/customer-edit/new").text
        assert sam.post("/views/customer-edit/new", data={**hidden(new, "/views/customer-edit/new"),
                                                          "name": "Ann Audit"}).status_code == 303
        customer = next(c["id"] for c in storage.query("Customer") if c["name"] == "Ann Audit")
        edit = f"/views/task-edit/edit?id={made['Deleted']}"
        delete = f"/views/task-edit/delete?id={made['Deleted']}"
        assert sam.post(delete, data={**hidden(sam.get(edit).text, delete), "confirm": "yes"}).status_code == 303
    with httpx.Client(base_url=front_office) as root:
        assert sign_in(root, "root").status_code == 303
        cells = re.findall(r'<tr data-entry="\d+">(?:\s*<td[^>]*>.*?</td>){3}\s*<td>(.*?)</td>', root.get("/admin/audit").text, re.S)
        assert cells[:4] == [f"Task id={made['Deleted']}",                      # deleted: nowhere to go
                             f'<a href="/views/customer-360/show?id={customer}">Customer id={customer}</a>',
                             f"Task id={made['Deleted']}",
                             f'<a href="/views/tasks/show?id={made["Kept"]}">Task id={made["Kept"]}</a>']   # as the tasks list opens it


def test_the_audit_page_is_the_admins_and_its_parameters_are_bounded(front_office, storage):
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        assert web.get("/admin/audit").status_code == 403
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "root").status_code == 303
        for before in ("abc", "\u00b2", "\u0663", "-1", "1" * 13):           # a superscript, an Arabic-Indic digit
            assert web.get("/admin/audit", params={"before": before}).status_code == 400
        assert web.get("/admin/audit?before=" + "9" * 5000).status_code == 400
        long_name = web.get("/admin/audit?user=" + "u" * 5000)
        assert long_name.status_code == 200 and "u" * 66 not in long_name.text
        assert "&lt;script&gt;" in web.get("/admin/audit?user=<script>").text
        csrf_of(web.get("/admin/audit").text)                     # the page carries the sign-out form


def test_entries_are_kept_for_the_days_set_and_a_record_is_found_by_its_key(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'fo.db'}")
    now = [1_000_000.0]
    trail_ = AuditTrail(engine, days=2, clock=lambda: now[0])
    trail_.add("ann", "created", "Task", {"id": 1}, ["subject"])
    trail_.add("ann", "changed", "Task", {"id": 10}, ["subject"])
    long_key, alike = {"number": "9" * 1000}, {"number": "9" * 999 + "8"}      # alike for 400 characters
    trail_.add("bob", "changed", "Customer", long_key, ["name"])
    trail_.add("cid", "changed", "Customer", alike, [f"field_{n:057d}" for n in range(100)])
    assert [e.key for e in trail_.of("Task", {"id": 1})] == [{"id": 1}]
    assert [e.user for e in trail_.of("Customer", long_key)] == ["bob"]
    many = trail_.of("Customer", alike)[0].fields          # 100 names of 64 characters: those that fit
    assert 55 < len(many) < 100 and many == tuple(f"field_{n:057d}" for n in range(len(many)))
    newest, *older = trail_.latest(10)
    assert [e.key for e in trail_.latest(10, before=newest.id)] == [e.key for e in older]
    assert [e.key for e in older][-2:] == [{"id": 10}, {"id": 1}]
    assert trail_.latest(10, user="nobody") == [] and len(trail_.latest(10, user="ann")) == 2
    now[0] += 2 * 86_400 + 3600
    trail_.add("cid", "deleted", "Task", {"id": 1}, [])
    assert [e.user for e in trail_.latest(10)] == ["cid"]          # the older ones went at this write
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from frontoffice_audit")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("days", [0, -1, 1.5, True, "365"])
def test_audit_days_must_be_a_positive_whole_number(days):
    with pytest.raises(ConfigError, match=f"frontoffice audit_days must be a positive whole number, not {days!r}"):
        FrontOffice(audit_days=days)
