"""The legacy tables of tests/storage/models/utility.xml, made and filled with hand-written SQL.

Names are unquoted, so each database folds them its own way (PostgreSQL to lower case).
Rows come from a seeded generator: every stored form with values across its range, zero
and blank dates, flags in both cases and unknown codes.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

TABLES = (
    """CREATE TABLE KUNDE_STAMM (KDNR CHAR(8) NOT NULL PRIMARY KEY, NAME VARCHAR(40) NOT NULL, ANREDE CHAR(2),
       GEBDAT CHAR(8), AKTIV CHAR(1), SALDO_CT BIGINT)""",
    """CREATE TABLE VERTRAG (VTNR INTEGER NOT NULL PRIMARY KEY, KDNR CHAR(8) NOT NULL, BEGINN CHAR(10),
       ENDE INTEGER, ANGELEGT DECIMAL(7, 0), KUENDIGUNG CHAR(6), RUFZEIT CHAR(6), STORNO CHAR(1))""",
    """CREATE TABLE ZAEHLERSTAND (VTNR INTEGER NOT NULL, LFDNR INTEGER NOT NULL, ABLDAT CHAR(8), ABLZEIT CHAR(6),
       STAND INTEGER, PRIMARY KEY (VTNR, LFDNR))""",
)
CUSTOMERS, CONTRACTS, READINGS_PER_CONTRACT = 40, 60, 3


def day(rng: random.Random, first: int, last: int) -> dt.date:
    return dt.date(first, 1, 1) + dt.timedelta(days=rng.randrange((dt.date(last, 12, 31) - dt.date(first, 1, 1)).days))


def rows(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """The rows of each table as stored, by table name."""
    rng = random.Random(seed)
    customers = []
    for number in range(1, CUSTOMERS + 1):
        born = day(rng, 1930, 2005)
        customers.append({
            "KDNR": f"{number * 7:<8d}", "NAME": rng.choice(["MEIER", "SCHULZE", "ÖZTÜRK", "VAN DYK"]) + f" {number}",
            "ANREDE": rng.choice(["HR", "FR", "FI", None]),
            "GEBDAT": rng.choice([born.strftime("%Y%m%d")] * 6 + ["00000000", None]),
            "AKTIV": rng.choice(["J", "j", "N", "n", "X", None]), "SALDO_CT": rng.randrange(-50_000, 500_000)})
    contracts = []
    for number in range(1, CONTRACTS + 1):
        start, end, created = day(rng, 1995, 2030), day(rng, 1999, 2040), day(rng, 1960, 2030)
        notice, call = day(rng, 1970, 2068), dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60))
        contracts.append({
            "VTNR": number, "KDNR": customers[rng.randrange(CUSTOMERS)]["KDNR"],
            "BEGINN": rng.choice([start.strftime("%d.%m.%Y")] * 6 + ["          ", "00.00.0000", None]),
            "ENDE": rng.choice([int(end.strftime("%Y%m%d"))] * 4 + [0, None]),
            "ANGELEGT": rng.choice([(created.year - 1900) // 100 * 1_000_000 + int(created.strftime("%y%m%d"))] * 6
                                   + [0, None]),
            "KUENDIGUNG": rng.choice([notice.strftime("%y%m%d")] * 6 + ["000000", None]),
            "RUFZEIT": rng.choice([call.strftime("%H%M%S")] * 6 + ["000000", "      ", None]),
            "STORNO": rng.choice(["Y", "y", "N", "n", "?", None])})
    readings = []
    for contract in contracts:
        for position in range(1, READINGS_PER_CONTRACT + 1):
            when = day(rng, 2020, 2025)
            readings.append({
                "VTNR": contract["VTNR"], "LFDNR": position,
                "ABLDAT": rng.choice([when.strftime("%Y%m%d")] * 8 + ["00000000", None]),
                "ABLZEIT": rng.choice([f"{rng.randrange(24):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"] * 4
                                      + ["      ", None]),
                "STAND": rng.randrange(100_000)})
    return {"KUNDE_STAMM": customers, "VERTRAG": contracts, "ZAEHLERSTAND": readings}


def create(engine: sa.Engine, seed: int = 7, only: tuple[str, ...] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Make the tables (``only`` those named) in ``engine``'s database and fill them; returns the rows."""
    data = {table: table_rows for table, table_rows in rows(seed).items() if only is None or table in only}
    with engine.begin() as connection:
        for statement in TABLES:
            if statement.split()[2] in data:
                connection.exec_driver_sql(statement)
        for table, table_rows in data.items():
            columns = list(table_rows[0])
            connection.execute(sa.text(f"INSERT INTO {table} ({', '.join(columns)}) "
                                       f"VALUES ({', '.join(':' + c for c in columns)})"), table_rows)
    return data
