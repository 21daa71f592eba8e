"""Bots: CRUD scoped to their owner, public keys, and deletion of everything hanging off a bot."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import service as billing_service
from app.bots.exceptions import BotNotFound
from app.bots.models import Bot
from app.bots.schemas import BotCreate, BotUpdate
from app.core import jobs
from app.core.config import Settings
from app.core.db import Base
from app.core.pagination import PageParams, paginate
from app.users.models import User

# Other domains register what must happen before a bot's rows go: e.g. documents
# schedule removal of stored files and vectors. Rows themselves cascade in the database.
BotDeleteHook = Callable[[AsyncSession, Bot], Awaitable[None]]
_delete_hooks: list[BotDeleteHook] = []


def on_bot_delete(hook: BotDeleteHook) -> BotDeleteHook:
    _delete_hooks.append(hook)
    return hook


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


async def get_owned(session: AsyncSession, owner: User, bot_id: uuid.UUID) -> Bot:
    bot = await session.scalar(select(Bot).where(Bot.id == bot_id, Bot.owner_id == owner.id))
    if bot is None:  # someone else's bot is indistinguishable from a missing one
        raise BotNotFound()
    return bot


async def document_counts(session: AsyncSession, bots: Sequence[Bot]) -> dict[uuid.UUID, int]:
    """Documents per bot, in one query. The documents table is looked up by name because
    documents depend on bots, not the other way round."""
    documents = Base.metadata.tables.get("documents")
    if documents is None or not bots:
        return {}
    rows = await session.execute(
        select(documents.c.bot_id, func.count())
        .where(documents.c.bot_id.in_([b.id for b in bots]))
        .group_by(documents.c.bot_id)
    )
    return dict(rows.tuples().all())


async def create(session: AsyncSession, owner: User, data: BotCreate, *, settings: Settings) -> Bot:
    await billing_service.ensure_can_add(session, owner.id, "bots", settings=settings)  # 402
    bot = Bot(owner_id=owner.id, public_key=new_public_key(), **data.model_dump())
    session.add(bot)
    await session.flush()
    return bot


async def list_for_owner(
    session: AsyncSession, owner: User, params: PageParams
) -> tuple[list[Bot], int]:
    stmt = select(Bot).where(Bot.owner_id == owner.id).order_by(Bot.created_at.desc(), Bot.id)
    return await paginate(session, stmt, params)


async def update(session: AsyncSession, bot: Bot, data: BotUpdate) -> Bot:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field != "model":
            continue  # explicit null means "leave as is" for required fields
        setattr(bot, field, value)
    await session.flush()
    return bot


async def rotate_public_key(session: AsyncSession, bot: Bot) -> Bot:
    bot.public_key = new_public_key()
    await session.flush()
    return bot


async def delete(session: AsyncSession, bot: Bot) -> None:
    for hook in _delete_hooks:
        await hook(session, bot)
    await session.delete(bot)
    await session.flush()
    jobs.enqueue(session, "bots.purge_vectors", str(bot.id))
