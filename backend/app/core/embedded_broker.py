"""The embedded broker: kombu's SQLAlchemy transport, polled fast only while there is work.

The transport has no push: a worker looks for messages every `polling_interval`, and with
prefetch 1 it looks again only after finishing a task. Kombu's 1 s default adds a second
between documents; polling every 10 ms always would cost ~7% of a core while idle. So the
interval adapts: fast for a few seconds after a message was delivered, slow when idle.
"""

from __future__ import annotations

import time

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


def register() -> None:
    """Serve `sqla+...` broker URLs with this transport."""
    kombu_transports.TRANSPORT_ALIASES["sqla"] = f"{__name__}:Transport"
    kombu_transports._transport_cache.pop("sqla", None)
