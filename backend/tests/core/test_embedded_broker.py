"""The embedded broker forgets what it delivered: kombu keeps every delivered row forever."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from kombu import Connection

from app.core import embedded_broker
from app.core.celery_app import build_celery
from app.core.config import Settings
from app.core.jobs import Task


def _rows(url: str) -> list[tuple[bool, object]]:
    engine = sa.create_engine(url.removeprefix("sqla+"))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT visible, timestamp FROM kombu_message ORDER BY id"))
        result = [(bool(r.visible), r.timestamp) for r in rows]
    engine.dispose()
    return result


def test_delivered_messages_are_pruned_and_waiting_ones_kept(tmp_path):
    embedded_broker.register()
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    with Connection(url) as conn:
        queue = conn.SimpleQueue("prune-test")
        for n in range(5):
            queue.put({"n": n})
        for _ in range(3):
            queue.get(timeout=5).ack()
        queue.close()
    rows = _rows(url)
    assert [visible for visible, _ in rows] == [False, False, False, True, True]

    assert embedded_broker.prune_delivered(url) == 0  # delivered a moment ago: kept a while
    assert embedded_broker.prune_delivered(url, keep=timedelta(0)) == 3
    assert [visible for visible, _ in _rows(url)] == [True, True]  # still waiting: kept
    with Connection(url) as conn:  # and still delivered
        queue = conn.SimpleQueue("prune-test")
        assert queue.get(timeout=5).payload == {"n": 3}
        queue.close()


def test_a_missing_broker_table_prunes_nothing(tmp_path):
    url = f"sqla+sqlite:///{tmp_path / 'empty.sqlite'}"
    assert embedded_broker.prune_delivered(url, keep=timedelta(0)) == 0


def test_beat_prunes_the_broker_on_a_schedule(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, environment="test")
    app = build_celery(settings)
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert Task.PRUNE_BROKER.value in tasks and Task.SWEEP_STUCK_DOCUMENTS.value in tasks
    app.loader.import_default_modules()
    assert Task.PRUNE_BROKER.value in app.tasks
