"""Bots: CRUD scoped to their owner, public keys, and deletion of everything hanging off a bot."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Row, ScalarSelect, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import service as billing_service
from app.bots.exceptions import BotNotFound, BotsOutOfReach, ModelNotAllowed, SlugTaken
from app.bots.models import Bot
from app.bots.schemas import BotCreate, BotUpdate
from app.chat.models import BotUsage
from app.chat.service import current_period
from app.core import jobs
from app.core.cache import forget_after_commit
from app.core.config import Settings
from app.core.pagination import PageParams, paginate
from app.documents.models import Document
from app.users.models import Principal

# Other domains register what must happen before a bot's rows go: e.g. documents
# schedule removal of stored files and vectors. Rows themselves cascade in the database.
BotDeleteHook = Callable[[AsyncSession, Bot], Awaitable[None]]
_delete_hooks: list[BotDeleteHook] = []


def on_bot_delete(hook: BotDeleteHook) -> BotDeleteHook:
    _delete_hooks.append(hook)
    return hook


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


async def get_owned(session: AsyncSession, owner: Principal, bot_id: uuid.UUID) -> Bot:
    if not owner.can_use_bot(bot_id):  # outside an API key's bots: as if it did not exist
        raise BotNotFound()
    bot = await session.scalar(select(Bot).where(Bot.id == bot_id, Bot.owner_id == owner.id))
    if bot is None:  # someone else's bot is indistinguishable from a missing one
        raise BotNotFound()
    return bot


def document_count() -> ScalarSelect[int]:
    """The bot's documents, as a column to select next to it."""
    return (
        select(func.count(Document.id))
        .where(Document.bot_id == Bot.id)
        .correlate(Bot)
        .scalar_subquery()
    )


def messages_this_month() -> ScalarSelect[int]:
    """The bot's messages in the usage period bound as `period` ("YYYY-MM")."""
    return (
        select(func.coalesce(func.sum(BotUsage.messages), 0))
        .where(BotUsage.bot_id == Bot.id, BotUsage.period == bindparam("period"))
        .correlate(Bot)
        .scalar_subquery()
    )


async def get_with_counts(session: AsyncSession, bot: Bot) -> tuple[Bot, int, int]:
    """The bot with its document count and its messages this month: one query."""
    row = (
        await session.execute(
            select(document_count(), messages_this_month()).where(Bot.id == bot.id),
            {"period": current_period()},
        )
    ).one()
    return bot, int(row[0] or 0), int(row[1] or 0)


async def create(
    session: AsyncSession, owner: Principal, data: BotCreate, *, settings: Settings
) -> Bot:
    if owner.bot_ids is not None:
        raise BotsOutOfReach()
    _check_model(data.model, settings)
    await billing_service.ensure_can_add(session, owner.id, "bots", settings=settings)  # 402
    fields = data.model_dump(exclude={"slug"})
    if data.slug is not None:
        await _ensure_slug_free(session, owner.id, data.slug)
    slug = data.slug or await _free_slug(session, owner.id, data.name)
    bot = Bot(owner_id=owner.id, public_key=new_public_key(), slug=slug, **fields)
    try:
        async with session.begin_nested():
            session.add(bot)
            await session.flush()
    except IntegrityError as exc:  # a concurrent bot took the same slug first
        if data.slug is not None:
            raise SlugTaken(details={"slug": data.slug}) from exc
        bot = Bot(
            owner_id=owner.id,
            public_key=new_public_key(),
            slug=f"{slug[:55]}-{secrets.token_hex(3)}",
            **fields,
        )
        session.add(bot)
        await session.flush()
    return bot


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "bot"


async def _free_slug(session: AsyncSession, owner_id: uuid.UUID, name: str) -> str:
    """The name as a slug, numbered when the owner has one like it already."""
    base = slugify(name)[:60].strip("-") or "bot"
    taken = set(
        await session.scalars(
            select(Bot.slug).where(Bot.owner_id == owner_id, Bot.slug.startswith(base))
        )
    )
    return next(c for c in (base, *(f"{base}-{n}" for n in range(2, 10_000))) if c not in taken)


async def _ensure_slug_free(
    session: AsyncSession, owner_id: uuid.UUID, slug: str, bot_id: uuid.UUID | None = None
) -> None:
    clash = await session.scalar(
        select(Bot.id).where(Bot.owner_id == owner_id, Bot.slug == slug, Bot.id != bot_id)
    )
    if clash is not None:
        raise SlugTaken(details={"slug": slug})


# Plain rows, not ORM objects: a list is only read, and loading entities was its main cost.
_OWNERS_BOTS = (
    select(
        *Bot.__table__.c,
        document_count().label("document_count"),
        messages_this_month().label("messages_this_month"),
    )
    .where(Bot.owner_id == bindparam("owner_id"))
    .order_by(Bot.created_at.desc(), Bot.id)
)


async def list_for_owner(
    session: AsyncSession, owner: Principal, params: PageParams
) -> tuple[list[Row[Any]], int]:
    """The owner's bots (those its API key may use), newest first, each row with its
    `document_count`: one query."""
    period = current_period()
    if owner.bot_ids is not None:
        stmt = _OWNERS_BOTS.where(Bot.id.in_(sorted(owner.bot_ids)))
        return await paginate(session, stmt, params, {"owner_id": owner.id, "period": period})
    return await paginate(session, _OWNERS_BOTS, params, {"owner_id": owner.id, "period": period})


def _check_model(model: str | None, settings: Settings) -> None:
    if model is not None and model not in settings.allowed_models:
        raise ModelNotAllowed(
            f"The model {model!r} is not offered here; choose one of "
            f"{', '.join(settings.allowed_models)} (or none for the default).",
            details={"allowed": settings.allowed_models},
        )


# Fields where an explicit null goes back to the server's default.
_NULL_MEANS_DEFAULT = frozenset({"model", "theme_color", "daily_message_limit", "min_score"})


async def update(session: AsyncSession, bot: Bot, data: BotUpdate, *, settings: Settings) -> Bot:
    _check_model(data.model, settings)
    if data.slug is not None and data.slug != bot.slug:
        await _ensure_slug_free(session, bot.owner_id, data.slug, bot.id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field not in _NULL_MEANS_DEFAULT:
            continue  # explicit null means "leave as is" for required fields
        setattr(bot, field, value)
    await session.flush()
    forget_after_commit(session, public_bot_key(bot.public_key))
    return bot


def public_bot_key(public_key: str) -> tuple[str, str]:
    """The runtime cache's key for what the widget reads about a bot (see app.widget)."""
    return ("public_bot", public_key)


async def rotate_public_key(session: AsyncSession, bot: Bot) -> Bot:
    forget_after_commit(session, public_bot_key(bot.public_key))
    bot.public_key = new_public_key()
    await session.flush()
    return bot


async def delete(session: AsyncSession, bot: Bot) -> None:
    forget_after_commit(session, public_bot_key(bot.public_key))
    for hook in _delete_hooks:
        await hook(session, bot)
    await session.delete(bot)
    await session.flush()
    jobs.enqueue(session, jobs.Task.PURGE_BOT_VECTORS, str(bot.id))
