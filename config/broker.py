"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled ten times a second.

The transport sleeps a second between empty polls by default, and every task waited out half of
it on average before a worker took it: a prefetch job 0.8 s at the median (bench/README.md,
Prefetch). Its transport options all go to SQLAlchemy's create_engine, which refuses
`polling_interval`, so the interval is set on the transport class instead. Redis pushes and is
not concerned.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SqlAlchemyTransport


class Transport(SqlAlchemyTransport):
    polling_interval = 0.1  # seconds: one indexed SELECT per poll


def install() -> None:
    """`sqla+...` and `sqlalchemy+...` broker URLs use this transport in this process."""
    for alias in ("sqla", "sqlalchemy"):
        TRANSPORT_ALIASES[alias] = "config.broker:Transport"
