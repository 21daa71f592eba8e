from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.bots.dependencies import OwnedBot
from app.core.pagination import Page, PageParamsDep
from app.core.runtime import RuntimeDep, SessionDep
from app.insights import service
from app.insights.schemas import Resolution, ResolveRequest, UnansweredGroup, UsageInsights

router = APIRouter(prefix="/bots/{bot_id}/insights", tags=["insights"])


@router.get("/unanswered", response_model=Page[UnansweredGroup])
async def list_unanswered(
    bot: OwnedBot,
    session: SessionDep,
    page: PageParamsDep,
    resolved: Annotated[bool, Query(description="Resolved groups instead of open ones")] = False,
) -> Page[UnansweredGroup]:
    """Questions that got the fallback message, no sources, or a thumbs-down, grouped by
    similarity, most asked first."""
    items, total = await service.list_unanswered(
        session, bot, resolved=resolved, limit=page.limit, offset=page.offset
    )
    return Page[UnansweredGroup](items=items, total=total, **page.model_dump())


@router.post(
    "/unanswered/{group_id}/resolve",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Resolution,
)
async def resolve(
    group_id: uuid.UUID,
    data: ResolveRequest,
    bot: OwnedBot,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Resolution:
    """Answer a group: a Q&A text document is added to the bot. The group is `answering`
    until the document is ready, then `resolved`."""
    group_id, document = await service.resolve(
        session, bot, group_id, data.answer, settings=runtime.settings
    )
    return Resolution(group_id=group_id, document_id=document.id, status="answering")


@router.get("/usage", response_model=UsageInsights)
async def usage(bot: OwnedBot, session: SessionDep) -> UsageInsights:
    """Questions per day over the last 30 days, and the most cited documents."""
    return await service.usage(session, bot)
