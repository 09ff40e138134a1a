"""Queries with structured filters, ordering, paging and counts."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput
from caruso_core.testing.databases import throwaway_database
from caruso_storage import filters
from caruso_storage.folding import fold

CITIES = ["Berlin", "Bonn", "Hamburg", None, "Berlin", "Munich", "bonn"]


@pytest.fixture
def customers(storage):
    storage.apply([{"op": "create", "object": "Customer",
                    "values": {"name": f"Customer {i}", "city": city, "active": i % 2 == 0}}
                   for i, city in enumerate(CITIES)])
    return storage


def names(records):
    return [record["name"] for record in records]


@pytest.mark.parametrize("where, expected", [
    ({"field": "city", "op": "eq", "value": "Berlin"}, [0, 4]),
    ({"field": "city", "op": "ne", "value": "Berlin"}, [1, 2, 5, 6]),
    ({"field": "city", "op": "eq", "value": None}, [3]),
    ({"field": "city", "op": "is_null", "value": False}, [0, 1, 2, 4, 5, 6]),
    ({"field": "city", "op": "in", "value": ["Bonn", "Munich"]}, [1, 5]),
    ({"field": "city", "op": "in", "value": []}, []),
    ({"field": "city", "op": "contains", "value": "ON"}, [1, 6]),
    ({"field": "city", "op": "startswith", "value": "b"}, [0, 1, 4, 6]),
    ({"field": "city", "op": "like", "value": "%r_in"}, [0, 4]),
    ({"field": "city", "op": "contains", "value": "%"}, []),
    ({"field": "id", "op": "gt", "value": 5}, [5, 6]),
    ({"field": "id", "op": "le", "value": "2"}, [0, 1]),
    ({"field": "active", "op": "eq", "value": True}, [0, 2, 4, 6]),
    ({"and": [{"field": "active", "op": "eq", "value": True},
              {"field": "city", "op": "startswith", "value": "B"}]}, [0, 4, 6]),
    ({"or": [{"field": "city", "op": "eq", "value": "Hamburg"}, {"field": "id", "op": "eq", "value": 1}]}, [0, 2]),
    ({"not": {"field": "city", "op": "is_null", "value": True}}, [0, 1, 2, 4, 5, 6]),
])
def test_filters(customers, where, expected):
    found = customers.query("Customer", where)
    assert names(found) == [f"Customer {i}" for i in expected]
    assert customers.count("Customer", where) == len(expected)


def test_text_filters_ignore_the_case_of_any_letter(storage):
    """contains, startswith and like ignore case beyond A-Z on every database (SQLite's own
    lower() folds only ASCII letters)."""
    storage.apply([{"op": "create", "object": "Customer", "values": {"name": name}}
                   for name in ("Zoë Müller-Ødegård", "ÅSA ÖBERG", "Ada Lovelace")])
    for op, value, expected in (("contains", "müller", ["Zoë Müller-Ødegård"]),
                                ("contains", "MÜLLER-ØDEGÅRD", ["Zoë Müller-Ødegård"]),
                                ("startswith", "zoË", ["Zoë Müller-Ødegård"]),
                                ("startswith", "åsa ö", ["ÅSA ÖBERG"]),
                                ("like", "%öberg", ["ÅSA ÖBERG"]),
                                ("contains", "LOVE", ["Ada Lovelace"])):
        assert names(storage.query("Customer", {"field": "name", "op": op, "value": value})) == expected, value


def test_text_filters_ignore_accents_too(storage):
    """zoe finds Zoë, muller Müller, sao São and francois François on every database, in a
    query and in a rule's condition (evaluated in Python)."""
    storage.apply([{"op": "create", "object": "Customer", "values": {"name": name}}
                   for name in ("Zoë Müller", "São Paulo Imóveis", "François Lefèvre", "Zoltan Mulder")])
    for op, value, expected in (("contains", "zoe", ["Zoë Müller"]),
                                ("contains", "MULLER", ["Zoë Müller"]),
                                ("contains", "mül", ["Zoë Müller", "Zoltan Mulder"]),     # either way
                                ("startswith", "sao paulo imo", ["São Paulo Imóveis"]),
                                ("like", "%lefevre", ["François Lefèvre"]),
                                ("contains", "FRANÇOIS LEFEVRE", ["François Lefèvre"]),
                                ("contains", "zo", ["Zoë Müller", "Zoltan Mulder"])):
        where = {"field": "name", "op": op, "value": value}
        assert names(storage.query("Customer", where)) == expected, value
        condition = filters.parse(storage.model.objects["Customer"], where)
        assert [name for name in ("Zoë Müller", "São Paulo Imóveis", "François Lefèvre", "Zoltan Mulder")
                if filters.matches(condition, {"name": name})] == expected, value


NUMBERS = {"Ann": "+31 20 555 0101", "Bob": "020-555 0102", "Cas": "(06) 1234 5678", "Dee": None, "Eve": "ann@example.com"}


def test_digits_finds_a_phone_number_however_it_is_written(storage):
    """digits compares the digits of a number: with the country code, the trunk prefix, dashes,
    brackets or none of them, in a query on every database and in a rule's condition."""
    storage.apply([{"op": "create", "object": "Customer", "values": {"name": name, "phone": phone}}
                   for name, phone in NUMBERS.items()])
    for value, expected in (("+31205550101", ["Ann"]), ("020 555 01 01", ["Ann"]), ("0031-20-5550101", ["Ann"]),
                            ("555 0101", ["Ann"]), ("0205550102", ["Bob"]), ("+31 6 12345678", ["Cas"]),
                            ("tel. 555-01", ["Ann", "Bob"]), ("0205550103", []), ("%5550%", ["Ann", "Bob"])):
        where = {"field": "phone", "op": "digits", "value": value}
        assert names(storage.query("Customer", where)) == expected, value
        condition = filters.parse(storage.model.objects["Customer"], where)
        assert [name for name, phone in NUMBERS.items() if filters.matches(condition, {"phone": phone})] == expected


@pytest.mark.parametrize("where, message", [
    ({"field": "phone", "op": "digits", "value": "555"}, "at least 4 digits"),
    ({"field": "phone", "op": "digits", "value": "phone me"}, "at least 4 digits"),
    ({"field": "phone", "op": "digits", "value": 5550101}, "at least 4 digits"),
    ({"field": "id", "op": "digits", "value": "5550101"}, "needs a text field"),
])
def test_digits_refuses_what_is_no_number(storage, where, message):
    with pytest.raises(InvalidInput, match=message):
        storage.query("Customer", where)


def test_digits_of_an_oversized_value_compares_its_last_nine(storage):
    storage.create("Customer", {"name": "Ann", "phone": "+31 20 555 0101"})
    found = storage.query("Customer", {"field": "phone", "op": "digits", "value": "7" * 100_000 + "205550101"})
    assert names(found) == ["Ann"]


@pytest.mark.postgres
def test_text_filters_fold_on_a_postgresql_database_not_encoded_in_utf8(postgres_url, make_storage):
    """A legacy LATIN1 database holds no letter beyond Latin-1: the folding uses those it holds
    (its SQL names no other, which the server could not even read), and other text is found
    as it is written."""
    with throwaway_database(postgres_url, '"', " WITH (FORCE)",
                            " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0") as url:
        storage = make_storage(db=url)
        storage.apply([{"op": "create", "object": "Customer", "values": {"name": name}}
                       for name in ("Zoë Müller", "ÅSA ÖBERG", "Ada Lovelace")])
        for op, value, expected in (("contains", "zoe", ["Zoë Müller"]), ("contains", "MÜLLER", ["Zoë Müller"]),
                                    ("startswith", "asa o", ["ÅSA ÖBERG"]), ("contains", "love", ["Ada Lovelace"]),
                                    ("contains", "čzoe", [])):
            assert names(storage.query("Customer", {"field": "name", "op": op, "value": value})) == expected, value
        storage.stop()


def test_the_python_folding_leaves_letters_other_than_latin_accented_ones_alone():
    assert fold("Zoë ÅSA Łukasz Čapek") == "zoe asa łukasz capek"      # ł is no accented l
    assert fold("Андрей Ηλέκτρα ß ø") == "андрей ηλέκτρα ß ø"          # as lower() has them: as PostgreSQL's


def test_ordering_and_paging(customers):
    ordered = customers.query("Customer", order_by=["-name"])
    assert names(ordered) == [f"Customer {i}" for i in range(6, -1, -1)]
    pages = [customers.query("Customer", order_by=["city", "-id"], limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert len({record["id"] for page in pages for record in page}) == 7
    assert customers.count("Customer") == 7


def test_a_choice_sorts_in_the_order_of_its_choices(storage):
    """``segment`` is ``private|business|public``: not alphabetical (business, private, public)."""
    storage.apply([{"op": "create", "object": "Customer", "values": {"name": name, "segment": segment}}
                   for name, segment in (("A", "public"), ("B", "private"), ("C", None), ("D", "business"),
                                         ("E", "private"))])
    ordered = storage.query("Customer", {"field": "segment", "op": "is_null", "value": False},
                            order_by=["segment", "name"])
    assert names(ordered) == ["B", "E", "D", "A"]
    assert names(storage.query("Customer", {"field": "segment", "op": "is_null", "value": False},
                               order_by=["-segment", "name"])) == ["A", "D", "B", "E"]
    assert len(storage.query("Customer", order_by=["segment"])) == 5        # a null sorts, as nulls do


@pytest.mark.parametrize("where, message", [
    ({"field": "password", "op": "eq", "value": "x"}, "has no field 'password'"),
    ({"field": "city", "op": "regex", "value": "x"}, "unknown operator 'regex'"),
    ({"field": "id", "op": "eq", "value": "1 OR 1=1"}, "not a valid integer"),
    ({"field": "id", "op": "eq", "value": 10 ** 23}, r"^id: 100000000000000000000000 is out of range \(a 64-bit"),
    ({"field": "id", "op": "in", "value": [1, str(-2 ** 63 - 1)]}, "^id: '-9223372036854775809' is out of range"),
    ({"field": "id", "op": "contains", "value": "1"}, "needs a text field"),
    ({"field": "city", "op": "in", "value": "Bonn"}, "needs a list"),
    ({"field": "city", "op": "changed_to", "value": "Bonn"}, "unknown operator"),
    ({"field": "city", "op": "changed_from", "value": "Bonn"}, "unknown operator"),    # rules only
    ({"sql": "1=1"}, "unknown key 'sql'"),
    ({"and": []}, "non-empty list"),
    ("city = 'Bonn'", "expected a dict"),
    ({"field": "city", "op": "eq", "value": "x", "raw": True}, "unknown key"),
])
def test_bad_filters_are_refused(customers, where, message):
    with pytest.raises(InvalidInput, match=message):
        customers.query("Customer", where)


def test_deep_or_huge_filters_are_refused(customers):
    where = {"field": "id", "op": "eq", "value": 1}
    for _ in range(40):
        where = {"not": where}
    with pytest.raises(InvalidInput, match="nested deeper"):
        customers.query("Customer", where)


@pytest.mark.parametrize("options, message", [
    ({"order_by": ["shoe_size"]}, "no attribute 'shoe_size'"),
    ({"order_by": "name; DROP TABLE customer"}, "no attribute"),
    ({"limit": 10_001}, "limit must be"),
    ({"offset": -1}, "offset must be"),
])
def test_bad_ordering_and_paging_are_refused(customers, options, message):
    with pytest.raises(InvalidInput, match=message):
        customers.query("Customer", **options)
