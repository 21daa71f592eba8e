"""How many statements a request sends to the database: the fast path stays fast.

Counted with SQLAlchemy's own event on every statement, on SQLite and on PostgreSQL. On SQLite
BEGIN IMMEDIATE and COMMIT are not statements of their own here; on PostgreSQL reads run in
autocommit (no BEGIN/COMMIT) and the write half adds BEGIN and COMMIT.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from tests.chat.conftest import add_document, ask, create_bot, start_conversation

FAQ = "Refunds are accepted within 30 days of purchase with a receipt."


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_authentication_reads_at_most_one_row(live_client, live_runtime, make_live_user):
    owner = await make_live_user()
    with counting(live_runtime.engine) as cold:
        assert (await live_client.get("/api/v1/users/me", headers=owner)).status_code == 200
    with counting(live_runtime.engine) as warm:
        assert (await live_client.get("/api/v1/users/me", headers=owner)).status_code == 200
    assert cold == ["SELECT"] and warm == []


async def test_a_chat_turn_reads_five_statements_and_writes_one_per_table(
    live_client, live_runtime, make_live_user
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    await add_document(live_client, live_runtime, owner, bot["id"], "faq", FAQ)
    conversation = await start_conversation(live_client, owner, bot["id"])
    await ask(live_client, owner, conversation["id"], "How many days for a refund?")  # warm
    with counting(live_runtime.engine) as statements:
        r = await ask(live_client, owner, conversation["id"], "Is a receipt needed for refunds?")
    assert r.status_code == 200 and r.json()["sources"]
    reads = [s for s in statements if s == "SELECT"]
    writes = [s for s in statements if s != "SELECT"]
    # conversation with its bot, history, the vector store's version check, the keyword
    # index (hybrid retrieval), the cited chunks
    assert len(reads) == 5, statements
    # both messages, the conversation, the account's counters, the bot's counters
    assert writes == ["INSERT", "UPDATE", "INSERT", "INSERT"], statements
