"""Billing: invoices, amounts, currencies (standard library parsers and numbers)."""

from __future__ import annotations

import csv
import datetime
import decimal
import fractions
import io
import json
import statistics
import struct
from typing import Any

from fleetapp.registry import bug


@bug("json")
def parse_invoice(v: str) -> Any:
    return json.loads("{'invoice': " + v + "}")


@bug("json")
def load_invoice_totals(v: str) -> Any:
    totals = json.loads(f'{{"total": {len(v)}, "currency": "EUR"}}')
    return totals["tax"]


@bug("json")
def export_invoice(v: str) -> str:
    return json.dumps({"amount": decimal.Decimal(len(v)), "owner": v})


@bug("decimal")
def invoice_amount(v: str) -> decimal.Decimal:
    return decimal.Decimal(v.replace("-", " "))


@bug("decimal")
def split_amount(v: str) -> decimal.Decimal:
    context = decimal.Context(traps=[decimal.DivisionByZero])
    return context.divide(decimal.Decimal(len(v)), decimal.Decimal(0))


@bug("fractions")
def share_of(v: str) -> fractions.Fraction:
    return fractions.Fraction(len(v), 0)


@bug("statistics")
def average_payment(v: str) -> float:
    return statistics.mean([p for p in [] if p == v])


@bug("statistics")
def payment_spread(v: str) -> float:
    return statistics.stdev([len(v)])


@bug("datetime")
def due_date(v: str) -> datetime.datetime:
    return datetime.datetime.strptime(v, "%Y-%m-%d")


@bug("datetime")
def billing_period(v: str) -> datetime.date:
    return datetime.date(2024, 2, 28 + len(v))


@bug("datetime")
def compare_due(v: str) -> bool:
    aware = datetime.datetime.now(datetime.timezone.utc)
    return aware < datetime.datetime(2024, 1, 1 + len(v) % 20)


@bug("csv")
def read_ledger(v: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(f'a,"b{v}\n'), strict=True)
    return list(reader)


@bug("csv")
def write_ledger(v: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["amount"])
    writer.writerow({"amount": 1, v: 2})
    return out.getvalue()


@bug("struct")
def pack_amount(v: str) -> bytes:
    return struct.pack(">h", 40000 + len(v))


@bug("struct")
def unpack_header(v: str) -> tuple[Any, ...]:
    return struct.unpack(">IH", v.encode())


@bug("builtins")
def apply_discount(v: str) -> int:
    return int(v) * 2


@bug("builtins")
def vat_rate(v: str) -> float:
    rates = {"DE": 0.19, "FR": 0.2}
    return rates[v]


@bug("builtins")
def line_total(v: str) -> float:
    lines: list[float] = []
    return sum(lines) / len(lines)
