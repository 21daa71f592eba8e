"""The embedded broker: kombu's SQLAlchemy transport, polled fast only while there is work.

The transport has no push: a worker looks for messages every `polling_interval`, and with
prefetch 1 it looks again only after finishing a task. Kombu's 1 s default adds a second
between documents; polling every 10 ms always would cost ~7% of a core while idle. So the
interval adapts: fast for a few seconds after a message was delivered, slow when idle.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from kombu import transport as kombu_transports
from kombu.transport import sqlalchemy as sqla

BUSY_POLL_SECONDS = 0.01
IDLE_POLL_SECONDS = 0.5
# How long after the last delivery the queue counts as busy.
BUSY_WINDOW_SECONDS = 5.0


class Channel(sqla.Channel):
    def _get(self, queue: str):  # type: ignore[no-untyped-def]
        message = super()._get(queue)  # raises Empty when there is nothing
        self.connection.last_delivery = time.monotonic()
        return message


class Transport(sqla.Transport):
    Channel = Channel
    last_delivery = 0.0

    @property  # type: ignore[override]
    def polling_interval(self) -> float:
        busy = time.monotonic() - self.last_delivery < BUSY_WINDOW_SECONDS
        return BUSY_POLL_SECONDS if busy else IDLE_POLL_SECONDS

    @polling_interval.setter
    def polling_interval(self, value: float) -> None:
        pass  # adaptive; a fixed transport option would defeat it


# Delivered messages older than this are deleted. Kombu keeps every delivered row
# (visible = false) and never removes it, so the broker file would grow without end; a
# message a dead worker held stays invisible for good, and ingestion's leases and sweep
# recover its document without it.
KEEP_DELIVERED = timedelta(hours=1)


@lru_cache(maxsize=4)
def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.removeprefix("sqla+"), poolclass=sa.pool.NullPool)


def prune_delivered(url: str, keep: timedelta = KEEP_DELIVERED) -> int:
    """Delete the delivered messages sent longer than `keep` ago; returns how many."""
    # Kombu stamps messages with naive local time (datetime.now()); compare alike.
    cutoff = datetime.now() - keep
    with _engine(url).begin() as conn:
        if not sa.inspect(conn).has_table("kombu_message"):
            return 0
        result = conn.execute(
            sa.text(
                "DELETE FROM kombu_message WHERE visible = :no AND timestamp < :cutoff"
            ).bindparams(
                sa.bindparam("no", False, type_=sa.Boolean()),
                sa.bindparam("cutoff", cutoff, type_=sa.DateTime()),
            )
        )
    return result.rowcount


def register() -> None:
    """Serve `sqla+...` broker URLs with this transport."""
    kombu_transports.TRANSPORT_ALIASES["sqla"] = f"{__name__}:Transport"
    kombu_transports._transport_cache.pop("sqla", None)
