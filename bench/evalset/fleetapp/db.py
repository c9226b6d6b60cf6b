"""Database access through an ORM (SQLAlchemy over sqlite3)."""

from __future__ import annotations

from typing import Any

from fleetapp.registry import bug, need


def _engine() -> Any:
    need("sqlalchemy")
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, ref TEXT UNIQUE NOT NULL)"))
        connection.execute(sa.text("INSERT INTO orders (ref) VALUES ('A-1')"))
    return engine


@bug("sqlalchemy")
def order_by_ref(v: str) -> Any:
    import sqlalchemy as sa

    with _engine().connect() as connection:
        return connection.execute(sa.text("SELECT total FROM orders WHERE ref = :ref"), {"ref": v}).all()


@bug("sqlalchemy")
def insert_order(v: str) -> Any:
    import sqlalchemy as sa

    with _engine().begin() as connection:
        connection.execute(sa.text("INSERT INTO orders (ref) VALUES (:ref)"), {"ref": "A-1"})


@bug("sqlalchemy")
def order_missing_param(v: str) -> Any:
    import sqlalchemy as sa

    with _engine().connect() as connection:
        return connection.execute(sa.text("SELECT * FROM orders WHERE ref = :ref")).all()


@bug("sqlalchemy")
def exactly_one_order(v: str) -> Any:
    import sqlalchemy as sa

    with _engine().connect() as connection:
        return connection.execute(sa.text("SELECT * FROM orders WHERE ref = :r"), {"r": v}).one()


@bug("sqlalchemy")
def orm_order(v: str) -> Any:
    import sqlalchemy as sa
    from sqlalchemy import orm

    class Base(orm.DeclarativeBase):
        pass

    class Order(Base):
        __tablename__ = "orders"
        id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
        ref: orm.Mapped[str]

    with orm.Session(_engine()) as session:
        return session.execute(sa.select(Order).where(Order.customer == v)).all()  # type: ignore[attr-defined]


@bug("sqlalchemy")
def bad_engine(v: str) -> Any:
    need("sqlalchemy")
    import sqlalchemy as sa

    return sa.create_engine(f"nosuchdb://{v}")
