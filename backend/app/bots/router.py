from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.bots import service
from app.bots.dependencies import OwnedBot
from app.bots.models import Bot
from app.bots.schemas import BotCreate, BotPublic, BotUpdate
from app.core.pagination import Page, PageParamsDep
from app.core.runtime import RuntimeDep, SessionDep
from app.users.dependencies import CurrentUser

router = APIRouter(prefix="/bots", tags=["bots"])


def _public(bot: Bot, document_count: int = 0, messages_this_month: int = 0) -> BotPublic:
    return BotPublic.model_validate(bot).model_copy(
        update={"document_count": document_count, "messages_this_month": messages_this_month}
    )


async def _with_count(session: AsyncSession, bot: Bot) -> BotPublic:
    return _public(*await service.get_with_counts(session, bot))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BotPublic)
async def create_bot(
    data: BotCreate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> BotPublic:
    """Create a bot. It gets a random `public_key` for the widget. Past the plan's limit: 402."""
    bot = await service.create(session, user, data, settings=runtime.settings)
    return BotPublic.model_validate(bot)


@router.get("", response_model=Page[BotPublic])
async def list_bots(user: CurrentUser, session: SessionDep, page: PageParamsDep) -> Page[BotPublic]:
    """Your bots, newest first."""
    rows, total = await service.list_for_owner(session, user, page)
    items = [BotPublic.model_validate(row) for row in rows]
    return Page[BotPublic](items=items, total=total, **page.model_dump())


@router.get("/{bot_id}", response_model=BotPublic)
async def get_bot(bot: OwnedBot, session: SessionDep) -> BotPublic:
    """One of your bots."""
    return await _with_count(session, bot)


@router.patch("/{bot_id}", response_model=BotPublic)
async def update_bot(
    data: BotUpdate, bot: OwnedBot, session: SessionDep, runtime: RuntimeDep
) -> BotPublic:
    """Change some fields of a bot. `model` must be one this server offers (422)."""
    bot = await service.update(session, bot, data, settings=runtime.settings)
    return await _with_count(session, bot)


@router.delete("/{bot_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_bot(bot: OwnedBot, session: SessionDep) -> None:
    """Delete a bot with its documents, vectors and conversations."""
    await service.delete(session, bot)


@router.post("/{bot_id}/rotate-public-key", response_model=BotPublic)
async def rotate_public_key(bot: OwnedBot, session: SessionDep) -> BotPublic:
    """Issue a new public key; widgets using the old one stop working."""
    return await _with_count(session, await service.rotate_public_key(session, bot))
