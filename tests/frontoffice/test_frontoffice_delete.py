"""A form whose ``delete`` names a role lets that role delete the record it edits: a page
shows the record and asks to confirm, the delete holds the version the form opened with,
and the list this form serves says what was deleted. Other roles see no button and are
refused; a post without the CSRF token, a stale version or a record gone delete nothing.
Served against the real storage with the example CRM views (task-edit: supervisors and
admins delete)."""
from __future__ import annotations

import html
import json
import re
from urllib.parse import urlencode

import httpx
import pytest

from frontoffice_support import csrf_of, sign_in


def words(text):
    return " ".join(text.split())


def version_of(page):
    return re.search(r'name="_version" value="([^"]*)"', page).group(1).replace("&#34;", '"')


def was_of(page):
    return html.unescape(re.search(r'name="_was" value="([^"]*)"', page).group(1))


def edit_page(web, user, task):
    """The edit form of ``task`` as ``user`` sees it, signed in."""
    assert sign_in(web, user).status_code == 303
    return web.get(f"/views/task-edit/edit?id={task['id']}").text


def a_task(storage, subject="Call Ann back"):
    return storage.create("Task", {"subject": subject})


def test_a_supervisor_confirms_and_deletes_and_the_page_after_says_so(front_office, storage):
    task, kept = a_task(storage), a_task(storage, "Send the brochure")
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "sam").status_code == 303
        form = web.get(f"/views/task-edit/edit?id={task['id']}&next=/views/tasks").text
        assert f'action="/views/task-edit/delete?id={task["id"]}" class="delete"' in form
        csrf, version = csrf_of(form), version_of(form)
        posted = web.post(f"/views/task-edit/delete?id={task['id']}",
                          data={"csrf": csrf, "_version": version, "next": "/views/tasks"})
        assert posted.status_code == 303                                   # to a page of its own: Back is a GET
        asking = posted.headers["location"]
        assert asking == f"/views/task-edit/delete?id={task['id']}&" + urlencode({
            "_version": version, "next": "/views/tasks"})
        asked = web.get(asking)
        assert asked.status_code == 200
        assert "<h1>Delete task or reminder " in asked.text and "cannot be undone" in asked.text
        assert "<dt>Subject</dt><dd>Call Ann back</dd>" in asked.text
        assert storage.count("Task") == 2                                  # nothing deleted by asking
        assert 'name="next" value="/views/tasks"' in asked.text
        done = web.post(f"/views/task-edit/delete?id={task['id']}", follow_redirects=False,
                        data={"csrf": csrf, "_version": version, "confirm": "yes", "next": "/views/tasks"})
        assert done.status_code == 303 and done.headers["location"] == "/views/tasks"
        listed = web.get("/views/tasks").text
        assert f"Task or reminder {task['id']} is deleted." in listed and "Send the brochure" in listed
        back = web.get(asking)                                             # Back to the page that asked
        assert back.status_code == 303 and back.headers["location"] == "/views/tasks"
        assert f"There is no task or reminder {task['id']}: it may have been deleted." in web.get("/views/tasks").text
        gone = web.get(f"/views/task-edit/edit?id={task['id']}")             # Back once more: its form
        assert gone.status_code == 404 and f"There is no task or reminder {task['id']}: it may" in gone.text
        assert web.post(f"/views/task-edit/delete?id={task['id']}",                 # the form's Delete: 404
                        data={"csrf": csrf, "_version": version}).status_code == 404
        form = web.get(f"/views/task-edit/edit?id={kept['id']}").text    # no next, and the tasks list of these
        gone = web.post(f"/views/task-edit/delete?id={kept['id']}",    # views opens no form: home says it
                        data={"csrf": csrf, "_version": version_of(form), "confirm": "yes"}, follow_redirects=True)
        assert gone.url.path == "/" and f"Task or reminder {kept['id']} is deleted." in gone.text
        again = web.post(f"/views/task-edit/delete?id={task['id']}",
                         data={"csrf": csrf, "_version": version, "confirm": "yes"})
        assert again.status_code == 303                                    # replayed: it is gone, and said so
    assert storage.count("Task") == 0


def test_an_agent_sees_no_delete_and_is_refused_and_a_post_without_csrf_deletes_nothing(front_office, storage):
    task = a_task(storage)
    with httpx.Client(base_url=front_office) as web:
        form = edit_page(web, "ada", task)
        assert "/delete" not in form and 'class="delete"' not in form
        refused = web.post(f"/views/task-edit/delete?id={task['id']}",
                           data={"csrf": csrf_of(form), "_version": version_of(form), "confirm": "yes"})
        assert refused.status_code == 403 and "may not delete a task or reminder" in refused.text
        asked = web.get(f"/views/task-edit/delete?id={task['id']}&" + urlencode({"_version": version_of(form)}))
        assert asked.status_code == 403 and 'name="confirm"' not in asked.text
    with httpx.Client(base_url=front_office) as web:
        form = edit_page(web, "sam", task)
        forged = web.post(f"/views/task-edit/delete?id={task['id']}",
                          data={"_version": version_of(form), "confirm": "yes"})
        assert forged.status_code == 403
        linked = web.get(f"/views/task-edit/delete?id={task['id']}&" + urlencode(
            {"csrf": csrf_of(form), "_version": version_of(form), "confirm": "yes"}))    # a GET deletes nothing
        assert linked.status_code == 200 and 'name="confirm"' in linked.text
        damaged = web.post(f"/views/task-edit/delete?id={task['id']}",
                           data={"csrf": csrf_of(form), "_version": "{", "confirm": "yes"})
        assert damaged.status_code == 400 and "The form is damaged" in damaged.text
        new_form = web.get("/views/task-edit/new").text
        assert 'class="delete"' not in new_form                             # nothing to delete yet
    assert storage.count("Task") == 1


def test_a_record_changed_since_the_form_opened_is_not_deleted(front_office, storage):
    task = a_task(storage)
    with httpx.Client(base_url=front_office) as web:
        form = edit_page(web, "root", task)
        storage.update("Task", task["id"], {"subject": "Call Ann back today"})     # someone else's edit
        posted = web.post(f"/views/task-edit/delete?id={task['id']}",
                          data={"csrf": csrf_of(form), "_version": version_of(form), "confirm": "yes"})
        assert posted.status_code == 303                   # to the page asking: a reload of it sends nothing
        stale = web.get(posted.headers["location"])
        assert stale.status_code == 409
        assert "was changed since you opened it" in words(stale.text) and "Call Ann back today" in stale.text
        assert 'name="confirm"' not in stale.text                          # open it again, then decide
        asked = web.get(f"/views/task-edit/delete?id={task['id']}&" + urlencode({"_version": version_of(form)}))
        assert asked.status_code == 409 and 'name="confirm"' not in asked.text   # asked again after the change
    assert storage.get("Task", task["id"])["subject"] == "Call Ann back today"


def test_a_delete_sent_twice_says_so_and_one_replayed_after_a_new_task_deletes_nothing(
        front_office, storage):
    task = a_task(storage)
    with httpx.Client(base_url=front_office) as web:
        form = edit_page(web, "sam", task)
        sent = {"csrf": csrf_of(form), "_version": version_of(form), "_was": was_of(form), "confirm": "yes"}
        first = web.post(f"/views/task-edit/delete?id={task['id']}", data=sent)
        again = web.post(f"/views/task-edit/delete?id={task['id']}", data=sent)      # a double click
        assert first.status_code == again.status_code == 303
        assert f"Task or reminder {task['id']} was deleted already." in web.get(again.headers["location"]).text
        loaded = web.get(f"/views/task-edit/delete?id={task['id']}&next=/views/tasks", follow_redirects=False)
        assert loaded.status_code == 303                   # a reload or Back: its form, nothing deleted by a GET
        assert loaded.headers["location"] == f"/views/task-edit/edit?id={task['id']}&next=/views/tasks"
        assert web.get("/views/nosuch/delete?id=1").status_code == 404
        newcomer = storage.create("Task", {"subject": "Call Bo about his meter"})
        assert newcomer["id"] != task["id"]                 # a deleted record's key is not given again
        replayed = web.post(f"/views/task-edit/delete?id={task['id']}", data=sent)
        assert replayed.status_code == 303
    assert [t["subject"] for t in storage.query("Task")] == ["Call Bo about his meter"]


def test_deep_or_oversized_form_values_are_read_as_none_or_refused_never_a_crash(front_office, storage):
    task = a_task(storage)
    with httpx.Client(base_url=front_office) as web:
        form = edit_page(web, "sam", task)
        base = {"csrf": csrf_of(form), "_version": version_of(form)}
        deep = web.post(f"/views/task-edit/delete?id={task['id']}", data={**base, "_was": "[" * 20_000})
        assert deep.status_code == 303 and "_was" not in deep.headers["location"]    # read as no digests
        assert "cannot be undone" in web.get(deep.headers["location"]).text          # asks
        padded = web.post(f"/views/task-edit/delete?id={task['id']}", data={**base, "_was": json.dumps(
            {**json.loads(was_of(form)), **{f"x{n}": "0" * 16 for n in range(500)}})})
        assert padded.status_code == 303 and "x1" not in padded.headers["location"]   # the form's own fields only
        assert "_was" in padded.headers["location"]
        forged = web.get(f"/views/task-edit/delete?id={task['id']}&" + urlencode({**base, "_was": "{" * 5_000}))
        assert forged.status_code == 200 and "cannot be undone" in forged.text
        edited = web.post(f"/views/task-edit/edit?id={task['id']}",
                          data={**base, "_was": "[" * 20_000, "subject": "Call Ann back"})
        assert edited.status_code == 303
        for version in ("[" * 20_000, "{" * 20_000):
            damaged = web.post(f"/views/task-edit/delete?id={task['id']}", data={**base, "_version": version})
            assert damaged.status_code == 400 and "The form is damaged" in damaged.text
            assert web.post(f"/views/task-edit/edit?id={task['id']}", data={
                **base, "_version": version, "subject": "x"}).status_code == 400
        huge = web.post(f"/views/task-edit/delete?id={task['id']}", data={**base, "_was": "x" * 70_000})
        assert huge.status_code == 413
    assert storage.count("Task") == 1


@pytest.mark.browser
def test_back_after_a_delete_in_the_browser_says_it_is_deleted_and_sends_nothing_again(tab, storage):
    task, kept = a_task(storage), a_task(storage, "Send the brochure")
    sam = tab()
    sam.sign_in("sam").wait_for_url("**/")
    page = sam.open(f"/views/task-edit/edit?id={task['id']}&next=/views/tasks")
    page.click("form.delete button")
    page.wait_for_url("**/views/task-edit/delete?*")
    page.click("form.delete button")                                        # confirmed
    page.wait_for_url("**/views/tasks")
    page.go_back()                                                          # to the page that asked
    page.wait_for_url("**/views/tasks")
    assert f"There is no task or reminder {task['id']}: it may have been deleted." in page.evaluate(
        "document.querySelector('.notice').textContent")
    sam.check_layout("Back after a delete")
    assert [t["subject"] for t in storage.query("Task")] == [kept["subject"]]
