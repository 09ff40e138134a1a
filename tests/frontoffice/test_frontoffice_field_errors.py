"""A form shows the storage's refusal of one field beside that field, served against the real
storage with the example CRM model and views (whose lead form has no detail view)."""
from __future__ import annotations

import httpx

from frontoffice_support import csrf_of, sign_in


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
        assert (f'<input name="email" value="Ann.Smith@Example.com" maxlength="200" type="email" > '
                f'<span class="field-error" role="alert">email: Lead {first["id"]} (Ann Smith) has the same '
                f'email already <a href="/views/lead-edit/edit?id={first["id"]}">Open Lead {first["id"]}</a></span>'
                in words(duplicate.text))                              # no lead detail view: the form edits it
        assert '<ul class="error"' not in duplicate.text
        malformed = post_lead(web, {"name": "A. Smith", "email": "ann@example..com"})   # passes the widget
        assert malformed.status_code == 400
        assert '<span class="field-error" role="alert">email: not an e-mail address</span>' in words(malformed.text)
        opened = web.get(f"/views/lead-edit/edit?id={first['id']}")
        assert opened.status_code == 200 and 'value="ann.smith@example.com"' in opened.text
    assert [lead["name"] for lead in storage.query("Lead", None)] == ["Ann Smith"]
