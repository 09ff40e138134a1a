"""Numbers as people type them: the script's or the deployment's locale, unclear input refused,
through the web runner, the service, the IVR and the CLI."""
import httpx
import pytest

from caruso_core.errors import ConfigError, InvalidInput
from caruso_scripts.ivr import IvrRunner
from caruso_scripts.service import ScriptService
from caruso_scripts.web import create_app
from test_scripts_cli import caruso

PAYMENT = """<?xml version="1.0"?>
<script id="payment" version="1" title="Payment"{locale}>
  <var name="share" value="null"/>
  <question id="amount" type="amount" min="1"><prompt>How much?</prompt>
    <go to="months"><set var="share" value="number(text(amount / 2))"/></go></question>
  <question id="months" type="number" max="24"><prompt>Over how many months (half is {{share}})?</prompt>
    <go to="done"/></question>
  <end id="done" outcome="agreed"><text>{{amount}} over {{months}} months.</text></end>
</script>
"""


def service(tmp_path, script_locale="", locale="en"):
    (tmp_path / "payment.xml").write_text(PAYMENT.format(locale=f' locale="{script_locale}"' if script_locale else ""))
    return ScriptService(scripts=str(tmp_path / "payment.xml"), db=f"sqlite:///{tmp_path / 's.db'}", locale=locale)


@pytest.fixture
def web(tmp_path, serve_app):
    def open_site(**locales):
        return httpx.Client(base_url=serve_app(create_app(service(tmp_path, **locales))), timeout=30,
                            verify=False)                                         # plain http: no certificates to load
    return open_site


def answer(client, view, value):
    return client.post(f"/api/s/{view['session']}", json={"seq": view["seq"], "answer": value})


@pytest.mark.parametrize("locales", [{"script_locale": "de-DE"}, {"locale": "de"}, {"locale": "en",
                                                                                    "script_locale": "de_at"}])
def test_decimal_commas_in_a_german_script(web, locales):
    with web(**locales) as client:
        view = client.post("/api/start/payment").json()
        assert view["step"]["decimal"] == ","
        assert 'placeholder="120,50" inputmode="decimal"' in client.get(f"/s/{view['session']}").text
        view = answer(client, view, "1.250,50").json()
        assert view["step"]["text"] == "Over how many months (half is 625,25)?"
        unclear = answer(client, view, "1.5")
        assert unclear.status_code == 422
        assert unclear.json()["error"] == ("'1.5' is not clear here: '.' separates thousands (e.g. 1.250) and ',' "
                                           "marks decimals (e.g. 12,5).")
        assert answer(client, view, "24,5").json()["error"] == "Please enter a value of at most 24."
        done = answer(client, view, "1,5").json()
        assert done["step"]["text"] == "1250,50 over 1,5 months."


@pytest.mark.parametrize("typed, message", [
    ("12,50", "'12,50' is not clear here: ',' separates thousands (e.g. 1,250) and '.' marks decimals (e.g. 12.5)."),
    ("1,5", "'1,5' is not clear here: ',' separates thousands (e.g. 1,250) and '.' marks decimals (e.g. 12.5)."),
    ("1.250,50", "'1.250,50' is not clear here"),
    ("1 2", "'1 2' is not clear here"),
    ("12.505", "Please enter an amount with at most two decimals, e.g. 120.50."),
    ("twelve", "Please enter an amount with at most two decimals, e.g. 120.50."),
    ("12.50 euros", "Please enter an amount with at most two decimals, e.g. 120.50."),     # not "unclear"
    ("12.50 USD EUR", "Please enter an amount with at most two decimals, e.g. 120.50."),
    ("12,50 EUR", "'12,50' is not clear here: ',' separates thousands"),
    ("1" + " " * 3990 + "x", "Please enter an amount with at most two decimals, e.g. 120.50."),   # long, no currency
])
def test_unclear_numbers_are_refused_in_an_english_script(web, typed, message):
    with web(locale="de", script_locale="en") as client:
        view = client.post("/api/start/payment").json()
        refused = answer(client, view, typed)
        assert refused.status_code == 422 and refused.json()["error"].startswith(message)
        assert client.get(f"/api/s/{view['session']}").json() == view


@pytest.mark.parametrize("given, shown", [("1,250", "1250.00"), ("1 250.5", "1250.50"), (12.5, "12.50"),
                                          (1250, "1250.00"), ("€12.50", "12.50"), ("12.50 EUR", "12.50"),
                                          ("EUR 1,250", "1250.00"), ("$ 3", "3.00"), ("1,250.50 £", "1250.50")])
def test_numbers_in_an_english_script(tmp_path, given, shown):
    engine = service(tmp_path)
    view = engine.begin("payment")
    assert engine.answer(view["session"], given, view["seq"])["answers"]["amount"] == shown
    view = engine.begin("payment")
    with pytest.raises(InvalidInput, match="Please enter an amount"):
        engine.answer(view["session"], 1e400, view["seq"])


@pytest.mark.parametrize("given, taken", [("€12.50", "12.50"), ("12.50 EUR", "12.50"), ("12.50", "12.50"),
                                          ("$50", "This amount is in EUR"), ("50 USD", "This amount is in EUR"),
                                          ("£ 3", "This amount is in EUR")])
def test_an_amount_in_the_script_s_currency_is_taken_and_another_refused(tmp_path, given, taken):
    (tmp_path / "euro.xml").write_text(PAYMENT.replace('type="amount" min="1"', 'type="amount" min="1" currency="EUR"')
                                       .replace('id="payment"', 'id="euro"').format(locale=""))
    engine = ScriptService(scripts=str(tmp_path / "euro.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    view = engine.begin("euro")
    assert view["step"]["currency"] == "EUR"
    if taken.startswith("This"):
        with pytest.raises(InvalidInput, match=f"^{taken}: please enter it in EUR.$"):
            engine.answer(view["session"], given, view["seq"])
    else:
        assert engine.answer(view["session"], given, view["seq"])["answers"]["amount"] == taken


def test_a_currency_on_a_question_that_is_no_amount_is_refused_at_its_line(tmp_path):
    path = tmp_path / "months.xml"
    path.write_text(PAYMENT.replace('type="number" max="24"', 'type="number" max="24" currency="EUR"').format(locale=""))
    with pytest.raises(ConfigError, match=r"months.xml:6: .*currency applies to amount questions only"):
        ScriptService(scripts=str(path), db=f"sqlite:///{tmp_path / 's.db'}")


@pytest.mark.parametrize("currency", ["eur", "EURO", "", "€"])
def test_a_currency_that_is_no_iso_code_is_refused_at_its_line(tmp_path, currency):
    path = tmp_path / "euro.xml"
    path.write_text(PAYMENT.replace('type="amount" min="1"', f'type="amount" min="1" currency="{currency}"')
                    .format(locale=""))
    with pytest.raises(ConfigError, match=r"euro.xml:4: "):
        ScriptService(scripts=str(path), db=f"sqlite:///{tmp_path / 's.db'}")


def test_the_phone_keys_a_decimal_in_the_script_locale(tmp_path):
    ivr = IvrRunner(service(tmp_path, script_locale="fr"))
    turn = ivr.press(ivr.begin("payment").session, "42*5#")
    assert turn.prompt.startswith("Over how many months (half is 21,25)?")


def test_unknown_locales_are_refused_where_they_are_set(tmp_path):
    with pytest.raises(ConfigError, match="locale 'klingon' is not known"):
        service(tmp_path, locale="klingon")
    path = tmp_path / "payment.xml"
    path.write_text(PAYMENT.format(locale=' locale="xx"'))
    result = caruso("validate", path)
    assert result.exit_code == 1
    assert f"{path}:2: locale 'xx' is not known; give a language (bg, ca, " in result.output


def test_script_tests_and_the_terminal_take_the_deployment_locale(tmp_path):
    (tmp_path / "payment.xml").write_text(PAYMENT.format(locale=""))
    spec = tmp_path / "payment.test.toml"
    spec.write_text('script = "payment.xml"\nlocale = "nl"\n[[case]]\nname = "Dutch"\noutcome = "agreed"\n'
                    'variables = { share = "6.25" }\n[case.answers]\namount = "12,50"\nmonths = "3"\n')
    tested = caruso("test", spec)
    assert tested.exit_code == 0, tested.output
    ran = caruso("run", tmp_path / "payment.xml", "--locale", "nl", input="12,50\n1.5\n3\n")
    assert ran.exit_code == 0, ran.output
    assert "! '1.5' is not clear here: '.' separates thousands (e.g. 1.250)" in ran.output
    assert "12,50 over 3 months." in ran.output
