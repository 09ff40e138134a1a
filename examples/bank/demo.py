"""Demo data of the bank vertical (``caruso data demo``), generated deterministically: the
same seed and day give the same customers with their accounts, cards, loans and complaints
(dates count back from the day of loading).

Customer numbers (``K-1001``), phone numbers and e-mail addresses are unique; IBANs are
German with valid check digits. About one customer in twenty has complaints; some of those
are still open after their answer date (eight weeks after receipt), so the vertical's
escalation rule has work from the start. Keys are given explicitly, so that related records
are generated together and loaded in batches.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Iterator

from caruso_core.verticals import load_generated

ANSWER_WITHIN = dt.timedelta(weeks=8)      # the model's "Answer due (8 weeks)"
FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Klara", "Lukas",
         "Mia", "Noah", "Olivia", "Paul", "Rosa", "Simon", "Tilda", "Valentin", "Wiebke", "Yusuf", "Zoë", "Leon"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun", "Zimmermann", "Krüger"]
CITIES = ["Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Leipzig", "Dresden"]
BANK_CODE = "10020030"
SUBJECTS = ["Card payment charged twice", "Overdraft interest too high", "Standing order not executed",
            "Branch appointment cancelled", "Statement missing", "Transfer delayed by three days"]
PARENTS_FIRST = ("Customer", "Account", "Card", "Loan", "Complaint")


def iban(account: int) -> str:
    """A German IBAN with valid check digits (ISO 13616, mod 97)."""
    bban = f"{BANK_CODE}{account:010d}"
    return f"DE{98 - int(bban + '131400') % 97:02d}{bban}"


def generate(customers: int = 1000, seed: int = 2026, today: dt.date | None = None
             ) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(object, values)`` pairs, parents before children, for ``customers`` customers, with
    dates before ``today`` (default: the day it runs)."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    ids = {name: 0 for name in PARENTS_FIRST[1:]}

    def next_id(name: str) -> int:
        ids[name] += 1
        return ids[name]

    for number in range(1, customers + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        mailbox = f"{first}.{last}".lower().translate(str.maketrans({"ü": "ue", "ö": "oe", "ë": "e", " ": ""}))
        yield "Customer", {
            "id": number, "customer_no": f"K-{1000 + number}", "name": f"{first} {last}",
            "email": f"{mailbox}.{number}@example.de", "phone": f"+49 30 {(2345678 + number * 7919) % 10**7:07d}",
            "city": rng.choice(CITIES), "segment": rng.choices(["retail", "premium", "business"], [80, 15, 5])[0],
            "birth_date": (today - dt.timedelta(days=rng.randint(18 * 365, 85 * 365))).isoformat(),
            "kyc_checked": (today - dt.timedelta(days=rng.randint(0, 3 * 365))).isoformat(),
            "marketing_consent": rng.random() < 0.4}
        yield from _accounts(rng, next_id, number, today)
        if rng.random() < 0.25:
            yield from _loan(rng, next_id, number, today)
        if rng.random() < 0.05:
            yield from _complaints(rng, next_id, number, today)


def _accounts(rng: random.Random, next_id: Any, customer: int, today: dt.date
              ) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ["current"] + ["savings"] * (rng.random() < 0.5):
        account = next_id("Account")
        yield "Account", {"id": account, "iban": iban(account), "customer_id": customer, "kind": kind,
                          "balance": str(Decimal(rng.randint(-50_000, 2_500_000)) / 100),
                          "overdraft_limit": "1000.00" if kind == "current" else "0.00", "status": "open",
                          "opened": (today - dt.timedelta(days=rng.randint(30, 9000))).isoformat()}
        if kind == "current":
            for card_kind in ["debit"] + ["credit"] * (rng.random() < 0.3):
                yield "Card", {"id": next_id("Card"), "customer_id": customer, "account_id": account,
                               "last_digits": f"{rng.randint(0, 9999):04d}", "kind": card_kind,
                               "expires": _month_of(today + dt.timedelta(days=rng.randint(31, 4 * 365))),
                               "status": "active" if rng.random() < 0.97 else "blocked"}


def _month_of(day: dt.date) -> str:
    """The first of ``day``'s month (cards expire at the start of a month, after today)."""
    return day.replace(day=1).isoformat()


def _loan(rng: random.Random, next_id: Any, customer: int, today: dt.date) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = rng.choices(["personal", "car", "mortgage"], [5, 3, 2])[0]
    principal = Decimal(rng.randint(*{"personal": (20, 300), "car": (100, 600), "mortgage": (1000, 6000)}[kind])) * 100
    years = {"personal": 5, "car": 6, "mortgage": 25}[kind]
    starts = today - dt.timedelta(days=rng.randint(30, 365 * years))
    repaid = rng.random() < 0.1
    yield "Loan", {"id": next_id("Loan"), "customer_id": customer, "kind": kind, "principal": str(principal),
                   "outstanding": "0.00" if repaid else str((principal * Decimal(rng.uniform(0.1, 0.95))).quantize(
                       Decimal("0.01"))),
                   "rate": str(Decimal(rng.randint(2500, 9900)) / 1000), "starts": starts.isoformat(),
                   "ends": starts.replace(year=starts.year + years, day=1).isoformat(),
                   "status": "repaid" if repaid else "running"}


def _complaints(rng: random.Random, next_id: Any, customer: int, today: dt.date
                ) -> Iterator[tuple[str, dict[str, Any]]]:
    for _ in range(rng.randint(1, 2)):
        received = today - dt.timedelta(days=rng.randint(1, 120))
        due = received + ANSWER_WITHIN
        status = "open" if due >= today or rng.random() < 0.3 else rng.choice(["answered", "closed"])
        yield "Complaint", {"id": next_id("Complaint"), "customer_id": customer, "subject": rng.choice(SUBJECTS),
                            "channel": rng.choice(["phone", "email", "web", "branch"]),
                            "received": received.isoformat(), "answer_due": due.isoformat(), "status": status}


def load(storage: Any, customers: int = 1000, seed: int = 2026, batch: int = 2000) -> dict[str, int]:
    """Create the demo data through a storage service (in-process or a proxy) in atomic
    batches (:func:`caruso_core.verticals.load_generated`); how many of each object."""
    return load_generated(storage, generate(customers, seed), PARENTS_FIRST,
                          f"loading {customers:,} demo bank customers", batch)
