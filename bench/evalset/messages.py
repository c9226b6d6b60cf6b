"""Message-only error lines (no traceback, no logging template: events from other shippers).

Each entry is one logging statement; its placeholders take bare words, numbers and paths, as a fleet
fills them. Two entries that differ by one constant word are different statements (siblings).
"""

from __future__ import annotations

from typing import Final

WORDS: Final = {
    "who": ("cron", "api", "admin", "scheduler", "ops", "alice", "webhook"),
    "db": ("orders", "users", "ledger", "events", "audit"),
    "queue": ("emails", "invoices", "thumbnails", "exports", "webhooks", "reports"),
    "service": ("billing", "search", "gateway", "auth", "catalog", "payments"),
    "num": ("3", "17", "250", "4096", "12"),
    "path": ("/var/lib/fleet/a.db", "/srv/data/x.bin", "C:\\data\\y.db", "/tmp/q/z"),
    "host": ("db1.internal", "10.0.0.12", "replica-3.example.com", "cache.local"),
}

STATEMENTS: Final = (
    "backup of {db} requested by {who} failed",
    "restore of {db} requested by {who} failed",
    "queue {queue} is full, dropping message from {service}",
    "queue {queue} consumer {service} stopped responding",
    "service {service} unavailable after {num} retries",
    "service {service} returned an invalid response",
    "disk usage at {num}% on {path}",
    "cannot open database file {path}",
    "connection to {host} refused by {service}",
    "connection to {host} timed out after {num} seconds",
    "user {who} exceeded quota on {queue}",
    "job {queue} requested by {who} was cancelled",
)
