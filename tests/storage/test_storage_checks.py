"""Checks the model declares on values: e-mail addresses (``format="email"``) and duplicate
checks (``<unique attribute compare>``), on every database, through the service's API."""
from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.testing.waiting import eventually
from caruso_storage import checks, loader
from caruso_storage.database import WRITE_OPTION
from caruso_storage.service import StorageManager

VALID = ["ann@example.com", "Ann.Smith+crm@mail.example.co.uk", "o'brien@example.ie", "jürgen@müller.de",
         "x@a-b.example", "1234@example.com"]
MALFORMED = ["", "   ", "ann", "ann@", "@example.com", "ann@example", "ann@@example.com", "ann@exa mple.com",
             "ann@example..com", ".ann@example.com", "ann.@example.com", "an..n@example.com", "ann@-example.com",
             "ann@example.123", "ann@exa\nmple.com", "\u202eann@example.com", "ann\u200b@example.com",
             "ann\uff20example.com", "ann@exam\x00ple.com", "\"ann\"@example.com", "ann@[127.0.0.1]",
             "a" * 65 + "@example.com", "ann@" + "a" * 64 + ".com", "'; DROP TABLE lead; --@example.com",
             "ann@example.com' OR '1'='1"]


def test_well_formed_addresses_are_stored_without_the_blanks_around_them(make_storage):
    storage = make_storage()
    for index, address in enumerate(VALID):
        lead = storage.create("Lead", {"name": f"Lead {index}", "email": f"  {address} "})
        assert storage.get("Lead", lead["id"])["email"] == address
    customer = storage.create("Customer", {"name": "Acme", "email": "office@acme.example"})
    assert customer["email"] == "office@acme.example"


def test_a_malformed_address_is_refused_in_one_line_and_nothing_is_written(make_storage):
    storage = make_storage()
    for address in MALFORMED:
        with pytest.raises(InvalidInput) as refused:
            storage.create("Lead", {"name": "Ann", "email": address})
        assert (str(refused.value), refused.value.details) == ("email: not an e-mail address", {"field": "email"})
        with pytest.raises(InvalidInput, match="^email: not an e-mail address$"):
            storage.create("Customer", {"name": "Acme", "email": address})
    assert storage.count("Lead") == storage.count("Customer") == 0


def test_an_oversized_address_is_refused_before_it_is_looked_at(make_storage):
    storage = make_storage()
    with pytest.raises(InvalidInput, match="^email: longer than 200 characters$"):
        storage.create("Lead", {"name": "Ann", "email": "a" * 100_000 + "@example.com"})
    with pytest.raises(InvalidInput, match="^email: not an e-mail address$"):
        storage.create("Lead", {"name": "Ann", "email": "a@" + "b" * 64 + ".de"})
    assert storage.count("Lead") == 0


def _near_address(pick: random.Random) -> str:
    """ASCII text shaped like an e-mail address, often one, its parts near their length bounds,
    then altered in up to two places by characters the rules treat apart."""
    def run(characters: str) -> str:
        return "".join(pick.choice(characters) for _ in range(pick.choice([1, 1, 2, 3, 5, 8, 20, 63, 64, 65])))
    local = ".".join(run("abcxyz09+_'") for _ in range(pick.randint(1, 3)))
    domain = ".".join(run("abcdxyz09-") for _ in range(pick.randint(1, 4)))
    address = list(f"{local}@{domain}" if pick.random() < 0.8 else local + domain)
    for _ in range(pick.choice([0, 0, 0, 1, 2])):
        place = pick.randrange(len(address) + 1)
        address[place:place + pick.randint(0, 1)] = pick.choice(["", ".", "..", "@", "-", " ", '"', "\x00", "\x7f",
                                                                  "(", "[", "\\", "1", "Z"])
    return "".join(address)


def test_the_expression_checking_ascii_addresses_keeps_the_rules_of_every_address():
    pick = random.Random(20)
    kept = refused = 0
    for _ in range(20_000):
        address = _near_address(pick)
        valid = checks.well_formed(address)
        assert (checks.ASCII_ADDRESS.fullmatch(address) is not None and len(address) <= checks.MAX_EMAIL) == valid, \
            repr(address)
        kept, refused = kept + valid, refused + (not valid)
    assert kept > 1_000 and refused > 1_000


def test_an_update_is_checked_too_and_other_changes_leave_an_address_stored_before_alone(make_storage):
    storage = make_storage()
    lead = storage.create("Lead", {"name": "Ann", "email": "ann@example.com"})
    with pytest.raises(InvalidInput, match="^email: not an e-mail address$"):
        storage.update("Lead", lead["id"], {"email": "ann at example.com"})
    assert storage.update("Lead", lead["id"], {"score": 50})["email"] == "ann@example.com"


def test_a_lead_with_the_e_mail_of_another_is_refused_naming_it(make_storage):
    storage = make_storage()
    first = storage.create("Lead", {"name": "Ann Smith", "email": "Ann.Smith@Example.com"})
    for same in ("ann.smith@example.com", "  ANN.SMITH@EXAMPLE.COM\t"):
        with pytest.raises(InvalidInput) as refused:
            storage.create("Lead", {"name": "Someone", "email": same})
        assert str(refused.value) == f"email: Lead {first['id']} (Ann Smith) has the same email already"
        assert refused.value.details == {"field": "email", "duplicate": {"object": "Lead", "key": first["id"]}}
    other = storage.create("Lead", {"name": "Bob", "email": "ann.smith@example.org"})
    with pytest.raises(InvalidInput, match=rf"^email: Lead {first['id']} \(Ann Smith\) has the same email"):
        storage.update("Lead", other["id"], {"email": "ANN.smith@example.com"})
    assert storage.get("Lead", other["id"])["email"] == "ann.smith@example.org"
    assert storage.update("Lead", first["id"], {"email": "ann.smith@example.com", "score": 10})["score"] == 10
    assert storage.count("Lead") == 2
    # filters take any text: a part of an address is no address, yet it finds the leads
    found = storage.query("Lead", {"field": "email", "op": "contains", "value": "smith@"}, ["id"])
    assert [lead["name"] for lead in found] == ["Ann Smith", "Bob"]


def test_a_lead_with_the_phone_digits_of_another_is_refused(make_storage):
    storage = make_storage()
    first = storage.create("Lead", {"name": "Ann Smith", "phone": "+49 (30) 1234-567"})
    with pytest.raises(InvalidInput, match=rf"^phone: Lead {first['id']} \(Ann Smith\) has the same phone already$"):
        storage.create("Lead", {"name": "Bob", "phone": "4930 1234 567"})
    assert storage.create("Lead", {"name": "Cem", "phone": "0049 30 1234567"})["phone"] == "0049 30 1234567"
    assert storage.create("Lead", {"name": "Dee", "phone": "30 1234 567"})["name"] == "Dee"
    # a phone without digits, or none at all, is no duplicate of anything
    for name in ("Eve", "Fay"):
        storage.create("Lead", {"name": name, "phone": "unknown"})
        storage.create("Lead", {"name": name + "2"})
    assert storage.count("Lead") == 7


def test_an_update_leaving_a_duplicate_stored_before_the_check_unchanged_is_taken(make_storage):
    storage = make_storage()
    first = storage.create("Lead", {"name": "Ann", "email": "ann@example.com", "phone": "+1 555 0100"})
    second = storage.create("Lead", {"name": "Bob", "email": "bob@example.com"})
    with storage.engines["main"].connect().execution_options(**{WRITE_OPTION: True}) as connection:
        connection.execute(sa.text("UPDATE lead SET email = 'ANN@example.com' WHERE id = :id"), {"id": second["id"]})
        connection.commit()
    # a form edit sends every field: the e-mail it does not change is not checked
    changed = storage.update("Lead", second["id"], {"email": "ANN@example.com", "score": 45})
    assert (changed["email"], changed["rating"]) == ("ANN@example.com", "warm")
    with pytest.raises(InvalidInput, match=rf"^phone: Lead {first['id']} \(Ann\) has the same phone already$"):
        storage.update("Lead", second["id"], {"email": "ANN@example.com", "phone": "1 (555) 0100"})


def test_duplicates_within_one_batch_are_refused_and_nothing_of_it_is_written(make_storage):
    storage = make_storage()
    with pytest.raises(InvalidInput, match=r"^operation 0-1: email: Lead \d+ \(\w+\) has the same email already$"):
        storage.apply([{"op": "create", "object": "Lead", "values": {"name": "Ann", "email": "a@example.com"}},
                       {"op": "create", "object": "Lead", "values": {"name": "Bob", "email": "A@example.com"}}])
    assert storage.count("Lead") == 0


def test_pattern_and_quoting_characters_match_only_themselves(make_storage):
    storage = make_storage()
    storage.create("Lead", {"name": "Ann", "email": "ann@example.com", "phone": "12"})
    for index, value in enumerate(["%", "_", "%%", "\\", "' OR ''='' --", "x';--", "\"%\""]):
        lead = storage.create("Lead", {"name": f"Cem{index}", "phone": f"{value} 9{index}"})
        assert storage.get("Lead", lead["id"])["phone"] == f"{value} 9{index}"
        with pytest.raises(InvalidInput, match=rf"^phone: Lead {lead['id']} \(Cem{index}\) has the same phone"):
            storage.create("Lead", {"name": "Dee", "phone": f"9{index}"})
        storage.create("Lead", {"name": f"Eve{index}", "email": f"a{index}@example.com", "company": value})
    # a LIKE pattern's own characters in an address are themselves: a_n is not ann
    storage.create("Lead", {"name": "Fay", "email": "a_n@example.com"})
    storage.create("Lead", {"name": "Gil", "email": "a%n@example.com"})
    with pytest.raises(InvalidInput, match=r"^email: Lead \d+ \(Fay\) has the same email already$"):
        storage.create("Lead", {"name": "Hal", "email": "A_N@example.com"})
    assert storage.count("Lead") == 1 + 7 * 2 + 2


def test_unicode_is_compared_as_written_with_case_ignored(make_storage):
    storage = make_storage()
    first = storage.create("Lead", {"name": "Jürgen", "email": "JÜRGEN@müller.de"})
    with pytest.raises(InvalidInput, match=rf"^email: Lead {first['id']} "):
        storage.create("Lead", {"name": "J", "email": "jürgen@müller.de"})
    # look-alikes are other addresses: a Latin u for ü, a Cyrillic а for a
    storage.create("Lead", {"name": "J2", "email": "jurgen@muller.de"})
    storage.create("Lead", {"name": "A", "email": "\u0430nn@example.com"})
    storage.create("Lead", {"name": "A2", "email": "ann@example.com"})
    # fullwidth digits are no digits of a phone
    storage.create("Lead", {"name": "P", "phone": "１２３"})
    storage.create("Lead", {"name": "P2", "phone": "１２３"})
    assert storage.count("Lead") == 6


UNIQUE_MODEL = """<model name="m">
  <object name="Person" table="person">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="email" type="string" length="80"{format}/>
    <attribute name="born" type="date"/>
    {unique}
  </object>
</model>"""


@pytest.mark.parametrize("format, unique, message", [
    ("", '<unique attribute="email" compare="soundex"/>', r"^m\.xml:6: .*compare"),
    ("", '<unique attribute="email" strict="yes"/>', r"^m\.xml:6: .*strict"),
    ("", '<unique attribute="mail"/>', r"^m\.xml:6: unique: Person has no attribute 'mail'$"),
    ("", '<unique attribute="born" compare="digits"/>', r"^m\.xml:6: unique: compare=\"digits\" compares text; "
                                                        r"Person\.born is date$"),
    (' format="e-mail"', "", r"^m\.xml:4: Person\.email: format='e-mail' is not a format of text \(formats: email"),
])
def test_model_errors_of_the_checks_name_file_and_line(format, unique, message):
    with pytest.raises(ConfigError, match=message):
        loader.loads(UNIQUE_MODEL.format(format=format, unique=unique).encode(), "m.xml")


def test_an_extension_adds_a_duplicate_check_but_not_twice():
    model = loader.loads(UNIQUE_MODEL.format(format=' format="email"', unique="").encode(), "m.xml")
    assert model.objects["Person"].attributes["email"].text_format == "email"
    base = UNIQUE_MODEL.format(format="", unique="").replace("</model>", "")
    extended = loader.loads((base + '<extend object="Person"><unique attribute="email" compare="ignore-case"/>'
                             "</extend></model>").encode(), "m.xml")
    assert [(u.attribute, u.compare) for u in extended.objects["Person"].uniques] == [("email", "ignore-case")]
    with pytest.raises(ConfigError, match=r"^m\.xml:9: unique: Person\.email has a duplicate check already$"):
        loader.loads((base + '<extend object="Person"><unique attribute="email"/></extend>\n'
                      '<extend object="Person"><unique attribute="email"/></extend></model>').encode(), "m.xml")


@pytest.mark.postgres
def test_on_postgresql_a_second_transaction_with_the_same_value_waits_and_is_refused(postgres_database):
    """Two writers of one normalised value take turns (the check's advisory lock): the second,
    waiting while the first holds the lock, then sees the first's committed lead."""
    storage = StorageManager(db=postgres_database, due_every=0)
    first = sa.create_engine(postgres_database)
    outcome: list[Any] = []
    try:
        with first.connect() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(
                checks.lock_key("lead", "email", "ann@example.com"))))
            second = threading.Thread(target=lambda: outcome.append(_created(storage, "ANN@example.com ")))
            second.start()
            eventually(lambda: connection.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar(),
                what="the second writer waiting for the lock")
            key = connection.execute(sa.text(
                "INSERT INTO lead (name, email, source, score, rating, status, caruso_version) "
                "VALUES ('Ann', 'ann@example.com', 'web', 0, 'cold', 'new', 1) RETURNING id")).scalar()
            connection.commit()
        second.join(30)
        [refused] = outcome
        assert isinstance(refused, InvalidInput) and str(refused) == f"email: Lead {key} (Ann) has the same email already"
        assert storage.count("Lead") == 1
    finally:
        storage.stop()
        first.dispose()


def _created(storage: StorageManager, email: str) -> Any:
    try:
        return storage.create("Lead", {"name": "Bob", "email": email})
    except InvalidInput as error:
        return error
