"""Accounts: users, sessions, passwords (sqlite3, hashing, regular expressions, enums)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import sqlite3
from typing import Any

from fleetapp.registry import bug


class Role(enum.Enum):
    ADMIN = "admin"
    USER = "user"


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
    db.execute("INSERT INTO users (name) VALUES ('alice')")
    return db


@bug("sqlite3")
def create_user(v: str) -> None:
    db = _db()
    db.execute("INSERT INTO users (name) VALUES (?)", ("alice",))


@bug("sqlite3")
def find_user(v: str) -> Any:
    return _db().execute("SELECT id, email FROM users WHERE name = ?", (v,)).fetchone()


@bug("sqlite3")
def rename_user(v: str) -> None:
    _db().execute("UPDATE users SET name = ? WHERE id = ?", (v,))


@bug("sqlite3")
def delete_user(v: str) -> None:
    _db().execute("DELETE FROM user WHERE name = ?", (v,))


@bug("sqlite3")
def user_without_name(v: str) -> None:
    _db().execute("INSERT INTO users (id) VALUES (?)", (len(v),))


@bug("sqlite3")
def closed_session(v: str) -> None:
    db = _db()
    db.close()
    db.execute("SELECT 1")


@bug("sqlite3")
def user_query_syntax(v: str) -> None:
    _db().execute(f"SELEC name FROM users WHERE name = '{v}'")


@bug("enum")
def user_role(v: str) -> Role:
    return Role(v)


@bug("re")
def username_pattern(v: str) -> Any:
    return re.compile(f"^{v}[a-z+$")


@bug("re")
def email_domain(v: str) -> str:
    return re.match(r"[^@]+@(.+)", v).group(1)  # type: ignore[union-attr]


@bug("hashlib")
def password_hash(v: str) -> str:
    return hashlib.new("sha3_1024", v.encode()).hexdigest()


@bug("hmac")
def sign_session(v: str) -> str:
    return hmac.new(v, b"payload", "sha256").hexdigest()  # type: ignore[arg-type]


@bug("builtins")
def user_profile(v: str) -> Any:
    profile = None if v else {}
    return profile.items()  # type: ignore[union-attr]


@bug("builtins")
def user_settings(v: str) -> Any:
    settings: dict[str, Any] = {"theme": None}
    return settings["theme"].items()


@bug("builtins")
def session_age(v: str) -> int:
    return v + 1  # type: ignore[operator,no-any-return]


@bug("builtins")
def account_tier(v: str) -> Any:
    return getattr(Role, v.upper())
