"""Numbers in requests are ASCII digits: ``²`` (which ``int()`` refuses) and ``٣`` (which it
reads as 3) pass ``str.isdigit()``, and used to reach ``int()``: a 500, or another page.
Served against the real storage with the example CRM views."""
from __future__ import annotations

import httpx
import pytest

from frontoffice_support import csrf_of, sign_in

OTHER_DIGITS = ["\u00b2", "\u0663", "1\u00b2"]


@pytest.mark.parametrize("number", OTHER_DIGITS)
def test_numbers_in_other_digits_are_refused_or_ignored_never_a_500(front_office, storage, number):
    with httpx.Client(base_url=front_office) as web:
        assert sign_in(web, "root").status_code == 303
        csrf = csrf_of(web.get("/").text)
        listed = web.get("/views/tasks", params={"page": number})
        assert listed.status_code == 200 and 'aria-current="page"' in listed.text     # page 1, as for "abc"
        assert web.post("/views/tasks/filters/delete", data={"csrf": csrf, "filter": number}).status_code == 400
        assert web.post("/admin/outbox/retry", data={"csrf": csrf, "id": number}).status_code == 400
        assert web.post("/admin/outbox/mail/retry", data={"csrf": csrf, "id": number}).status_code == 400
        assert web.get("/admin/audit", params={"before": number}).status_code == 400
        board = web.get("/supervisor/wallboard.json", params={"since": number})
        assert board.status_code == 400 and "a whole number" in board.json()["error"]
        assert web.get("/portal/articles", params={"page": number}).status_code == 400
