"""Web self-service in a real headless Chromium: forms, server-side validation, back, the end page."""
import pytest

from caruso_scripts.service import ScriptService
from caruso_scripts.web import create_app

CALLBACK = """<?xml version="1.0"?>
<script id="callback" version="1" title="Call me back">
  <info id="hello"><text>We call you back at a time you choose.</text><go to="name"/></info>
  <question id="name" type="text" maxlength="30"><prompt>Your name?</prompt><go to="when"/></question>
  <question id="when" type="choice"><prompt>When, {name}?</prompt>
    <option value="am">In the morning</option><option value="pm">In the afternoon</option><go to="minutes"/></question>
  <question id="minutes" type="number" min="5" max="120"><prompt>How long may the call take (minutes)?</prompt>
    <go to="done"/></question>
  <end id="done" outcome="booked"><text>We call {name} back ({when}, {minutes} minutes).</text></end>
</script>
"""


@pytest.mark.browser
def test_a_customer_books_a_call_back_in_chromium(tmp_path, serve_app, chromium):
    (tmp_path / "callback.xml").write_text(CALLBACK)
    engine = ScriptService(scripts=str(tmp_path / "callback.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    base = serve_app(create_app(engine, title="Springfield Power"))
    context = chromium.new_context()
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(base + "/")
        page.get_by_role("button", name="Call me back").click()
        page.get_by_text("We call you back at a time you choose.").wait_for()
        page.get_by_role("button", name="Continue").click()
        page.locator("input[name=answer]").fill("Ann")
        page.get_by_role("button", name="Next").click()
        page.get_by_text("When, Ann?").wait_for()
        page.get_by_label("In the afternoon").check()
        page.get_by_role("button", name="Next").click()
        page.locator("input[name=answer]").fill("500")
        page.get_by_role("button", name="Next").click()
        assert page.get_by_role("alert").inner_text() == "Please enter a value of at most 120."
        page.get_by_role("button", name="Back").click()
        page.get_by_text("When, Ann?").wait_for()
        page.get_by_label("In the morning").check()
        page.get_by_role("button", name="Next").click()
        page.locator("input[name=answer]").fill("15")
        page.get_by_role("button", name="Next").click()
        page.get_by_text("We call Ann back (am, 15 minutes).").wait_for()
        assert [e for e in errors if "status of 422" not in e] == []     # the rejected answer's page
    finally:
        context.close()
