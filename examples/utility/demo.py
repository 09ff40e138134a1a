"""Demo data of the utility vertical, generated deterministically: the same seed gives
the same customers, connections, meters, readings, contracts, invoices and payments.

Phone numbers, e-mail addresses, customer numbers and EAN codes are unique (the
front office finds a caller by phone or e-mail); IBANs carry valid check digits;
EAN codes carry a valid GS1 check digit. Keys are given explicitly, so that related
records can be generated together and loaded in batches.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Iterator

from caruso_core.verticals import load_generated

TODAY = dt.date(2026, 11, 1)
FIRST = ["Anna", "Bram", "Carla", "Daan", "Emma", "Finn", "Gijs", "Hanna", "Iris", "Jan", "Kees", "Lotte",
         "Maud", "Noah", "Olga", "Pieter", "Roos", "Sem", "Tess", "Vera", "Wim", "Yara", "Zoë", "Luuk"]
LAST = ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
        "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit",
        "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs"]
STREETS = ["Kerkstraat", "Schoolstraat", "Molenweg", "Dorpsstraat", "Stationsweg", "Julianastraat",
           "Wilhelminalaan", "Beatrixstraat", "Nieuwstraat", "Markt", "Parkweg", "Lindelaan"]
CITIES = [("Amsterdam", 1011, 1109), ("Rotterdam", 3011, 3089), ("Utrecht", 3511, 3585),
          ("Den Haag", 2491, 2599), ("Eindhoven", 5611, 5658), ("Groningen", 9711, 9747),
          ("Zwolle", 8011, 8046), ("Arnhem", 6811, 6846)]
BANKS = ["INGB", "RABO", "ABNA", "SNSB", "TRIO", "ASNB"]
PRODUCTS = ["fixed-1y", "fixed-3y", "variable", "green"]


def iban(bank: str, account: int) -> str:
    """A Dutch IBAN with valid check digits (ISO 13616, mod 97)."""
    bban = f"{bank}{account:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


def ean(number: int) -> str:
    """An 18-digit EAN connection code starting 871 with a valid GS1 check digit."""
    body = f"871{number:014d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def generate(customers: int = 10_000, seed: int = 2026) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(object, values)`` pairs, parents before children, for ``customers`` customers."""
    rng = random.Random(seed)
    ids = {name: 0 for name in ("Connection", "Meter", "MeterReading", "Contract", "Invoice", "Payment")}

    def next_id(name: str) -> int:
        ids[name] += 1
        return ids[name]

    for number in range(1, customers + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, low, high = rng.choice(CITIES)
        postcode = f"{rng.randint(low, high)} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}"
        street, house_no = rng.choice(STREETS), str(rng.randint(1, 240))
        address = {"street": street, "house_no": house_no, "postcode": postcode, "city": city}
        since = TODAY - dt.timedelta(days=rng.randint(60, 7000))
        mailbox = f"{first}.{last}".lower().replace(" ", "").replace("ë", "e")
        yield "Customer", {
            "id": number, "customer_no": f"{100000 + number}", "name": f"{first} {last}",
            "email": f"{mailbox}.{number}@example.nl", "phone": f"06{(12345678 + number * 7919) % 10**8:08d}",
            **address, "segment": "business" if rng.random() < 0.08 else "private",
            "iban": iban(rng.choice(BANKS), rng.randint(10**8, 10**10 - 1)),
            "marketing_consent": rng.random() < 0.4, "since": since.isoformat()}
        commodities = ["electricity"] + ["gas"] * (rng.random() < 0.8) + ["water"] * (rng.random() < 0.5)
        advance = Decimal(0)
        for commodity in commodities:
            connection = next_id("Connection")
            yield "Connection", {"id": connection, "ean": ean(connection), "customer_id": number,
                                 "commodity": commodity, **address, "status": "active", "since": since.isoformat()}
            yield from _meter(rng, next_id, connection, commodity)
            if commodity != "water":
                monthly = Decimal(rng.randint(4000, 16000)) / 100
                advance += monthly
                yield "Contract", {"id": next_id("Contract"), "customer_id": number, "connection_id": connection,
                                   "product": rng.choice(PRODUCTS), "starts": since.isoformat(),
                                   "monthly_advance": str(monthly)}
        yield from _invoices(rng, next_id, number, advance or Decimal("25.00"))


def _meter(rng: random.Random, next_id: Any, connection: int, commodity: str) -> Iterator[tuple[str, dict]]:
    meter = next_id("Meter")
    smart = commodity != "water" and rng.random() < 0.7
    yield "Meter", {"id": meter, "meter_no": f"M{meter:09d}", "connection_id": connection,
                    "kind": "smart" if smart else "conventional",
                    "registers": 2 if commodity == "electricity" and rng.random() < 0.6 else 1,
                    "unit": "kWh" if commodity == "electricity" else "m3"}
    yearly = {"electricity": 2800, "gas": 1200, "water": 110}[commodity]
    previous = Decimal(rng.randint(1000, 40000))
    for years_ago in (1, 0):
        normal = previous + Decimal(int(yearly * rng.uniform(0.7, 1.3)))
        source = "smart" if smart else ("estimate" if rng.random() < 0.05 else "customer")
        yield "MeterReading", {"id": next_id("MeterReading"), "meter_id": meter,
                               "read_on": (TODAY - dt.timedelta(days=365 * years_ago + 20)).isoformat(),
                               "normal": str(normal), "previous": str(previous), "source": source}
        previous = normal


def _invoices(rng: random.Random, next_id: Any, customer: int, monthly: Decimal) -> Iterator[tuple[str, dict]]:
    for months_ago in (3, 2, 1):
        invoice = next_id("Invoice")
        issued = TODAY - dt.timedelta(days=30 * months_ago)
        due = issued + dt.timedelta(days=14)
        late = rng.random()
        status = "paid" if months_ago > 1 or late > 0.15 else ("overdue" if late < 0.04 else "open")
        yield "Invoice", {"id": invoice, "invoice_no": f"F{invoice:09d}", "customer_id": customer,
                          "issued": issued.isoformat(), "due": due.isoformat(), "amount": str(monthly),
                          "status": status}
        if status == "paid":
            yield "Payment", {"id": next_id("Payment"), "invoice_id": invoice,
                              "paid_on": (due - dt.timedelta(days=rng.randint(0, 10))).isoformat(),
                              "amount": str(monthly), "method": "direct-debit" if rng.random() < 0.8 else "ideal"}


PARENTS_FIRST = ("Customer", "Connection", "Meter", "MeterReading", "Contract", "Invoice", "Payment")


def load(storage: Any, customers: int = 10_000, seed: int = 2026, batch: int = 2000) -> dict[str, int]:
    """Create the demo data through a storage service (in-process or a proxy) in atomic
    batches (:func:`caruso_core.verticals.load_generated`); how many of each object."""
    return load_generated(storage, generate(customers, seed), PARENTS_FIRST,
                          f"loading {customers:,} demo customers", batch)
