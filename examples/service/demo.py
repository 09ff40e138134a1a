"""Demo data of the service vertical (``caruso data demo``), generated deterministically: the
same seed and day give the same customers with their installed equipment, service contracts
and field service orders (dates count back from the day of loading), and the published FAQ
(:mod:`caruso_service.faq`).

Customer numbers (``S-1001``), serial numbers, phone numbers and e-mail addresses are
unique. Equipment is under warranty for two years from its installation. Three customers in
five have a contract, whose response time (8, 24 or 72 hours by level) sets the response
deadline of their orders; about one customer in ten has orders of the last ten days, and
some of those are still open past their deadline, so the vertical's SLA timer has work from
the start. Keys are given explicitly, so that related records are generated together and
loaded in batches.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Iterator

from caruso_core.verticals import load_generated
from caruso_service import faq

WARRANTY_YEARS = 2
RESPONSE_HOURS = {"basic": 72, "standard": 24, "premium": 8}      # hours to respond, by contract level
NO_CONTRACT_HOURS = 72                                           # the fault script's default
PRODUCTS = {"HB": "Boiler HB 30", "HP": "Heat pump AW 12", "LF": "Passenger lift L 630", "PR": "Printer MF 4500",
            "AC": "Air conditioner SC 35"}
TRADES = ["Bakery", "Dental practice", "Hotel", "Law office", "Print shop", "Restaurant", "School", "Pharmacy"]
NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos", "Peters",
         "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Kok", "Jacobs", "Vermeulen"]
CITIES = ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Haarlem", "Leiden"]
STREETS = ["Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Marktplein", "Havenweg"]
PROBLEMS = {"HB": ["No hot water", "Error code E04 on the display", "Leaks water"],      # by product
            "HP": ["No heating", "Loud noise when starting", "Error code E04 on the display"],
            "LF": ["Stops between floors", "Doors do not close", "Loud noise when starting"],
            "PR": ["Paper jams on every page", "Prints blank pages", "Error code E04 on the display"],
            "AC": ["Blows warm air only", "Leaks water", "Loud noise when starting"]}
PARENTS_FIRST = ("Customer", "Installation", "ServiceContract", "FieldServiceOrder")


def generate(customers: int = 1000, seed: int = 2026, now: dt.datetime | None = None
             ) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(object, values)`` pairs, parents before children, for ``customers`` customers, with
    dates before ``now`` (default: the moment it runs, UTC, to the second)."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    ids = {name: 0 for name in PARENTS_FIRST[1:]}

    def next_id(name: str) -> int:
        ids[name] += 1
        return ids[name]

    for number in range(1, customers + 1):
        trade, name, city = rng.choice(TRADES), rng.choice(NAMES), rng.choice(CITIES)
        mailbox = f"{trade}.{name}".lower().replace(" ", "")
        yield "Customer", {
            "id": number, "customer_no": f"S-{1000 + number}", "name": f"{trade} {name}",
            "email": f"{mailbox}.{number}@example.nl", "phone": f"+31 20 {(5550000 + number * 7919) % 10**7:07d}",
            "city": city, "site_address": f"{rng.choice(STREETS)} {rng.randint(1, 200)}, {city}"}
        installed = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            installation, prefix = next_id("Installation"), rng.choice(list(PRODUCTS))
            installed.append((installation, prefix))
            day = now.date() - dt.timedelta(days=rng.randint(30, 3650))
            yield "Installation", {
                "id": installation, "customer_id": number, "serial_no": f"{prefix}-{100000 + installation}",
                "product": PRODUCTS[prefix], "installed": day.isoformat(),
                "warranty_until": day.replace(year=day.year + WARRANTY_YEARS, day=min(day.day, 28)).isoformat(),
                "location": rng.choice(["Basement", "Ground floor", "Roof", "Office", "Kitchen"])}
        level = rng.choices([None, "basic", "standard", "premium"], [40, 25, 25, 10])[0]
        if level is not None:
            starts = now.date() - dt.timedelta(days=rng.randint(1, 1500))
            yield "ServiceContract", {"id": next_id("ServiceContract"), "customer_id": number, "level": level,
                                      "response_hours": RESPONSE_HOURS[level], "fix_hours": RESPONSE_HOURS[level] * 3,
                                      "starts": starts.isoformat()}
        if rng.random() < 0.1:
            yield from _orders(rng, next_id, number, installed, RESPONSE_HOURS.get(level, NO_CONTRACT_HOURS), now)


def _orders(rng: random.Random, next_id: Any, customer: int, installed: list[tuple[int, str]], hours: int,
            now: dt.datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """Orders of some of the customer's ``installed`` (key and product prefix), each a problem of its product."""
    for installation, prefix in rng.sample(installed, rng.randint(1, len(installed))):
        opened = now - dt.timedelta(minutes=rng.randint(30, 10 * 24 * 60))
        respond_by = opened + dt.timedelta(hours=hours)
        late = respond_by < now
        status = rng.choice(["done", "done", "on-site", "open"]) if late else rng.choice(["open", "planned"])
        yield "FieldServiceOrder", {
            "id": next_id("FieldServiceOrder"), "customer_id": customer, "installation_id": installation,
            "problem": rng.choice(PROBLEMS[prefix]), "priority": rng.choices(["low", "normal", "high"], [2, 6, 2])[0],
            "opened": opened.isoformat(), "respond_by": respond_by.isoformat(), "status": status,
            "engineer": None if status == "open" else rng.choice(NAMES)}


def load(storage: Any, customers: int = 1000, seed: int = 2026, batch: int = 2000) -> dict[str, int]:
    """Create the demo data through a storage service (in-process or a proxy) in atomic
    batches (:func:`caruso_core.verticals.load_generated`), then publish the FAQ; how many of
    each object."""
    counts = load_generated(storage, generate(customers, seed), PARENTS_FIRST,
                            f"loading {customers:,} demo service customers", batch)
    return {**counts, **faq.load(storage)}
