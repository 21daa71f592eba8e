"""The widget's public API (for visitors, under /api/v1/widget/{public_key}/) and the owner's
embed snippet. `/widget.js` itself is served by `app.widget.assets`."""

from __future__ import annotations

import html
import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from app.bots.dependencies import OwnedBot
from app.chat import generation
from app.chat.schemas import FeedbackCreate, FeedbackPublic
from app.core.pagination import Page, PageParamsDep
from app.core.routes import reads_only
from app.core.runtime import RuntimeDep, SessionDep
from app.core.streaming import EventStream, with_keepalive
from app.widget import service
from app.widget.dependencies import (
    Visitor,
    WidgetBot,
    limit_messages_per_ip,
    limit_sessions_per_ip,
    limit_visitor,
)
from app.widget.schemas import (
    EmbedPublic,
    SessionCreate,
    SessionPublic,
    VisitorMessage,
    VisitorMessageCreate,
    WidgetConfig,
)

router = APIRouter(prefix="/widget/{public_key}", tags=["widget"])
owner_router = APIRouter(tags=["widget"])

_REFUSALS: dict[int | str, dict] = {
    401: {"description": "`invalid_session`: missing, expired, another bot's or pre-rotation"},
    403: {"description": "`origin_not_allowed`: this site is not in the bot's allowed origins"},
    404: {"description": "`bot_not_found`"},
    409: {"description": "`bot_inactive`: the bot is switched off"},
    429: {"description": "`rate_limited`, with Retry-After"},
}


@router.get("/config", response_model=WidgetConfig, responses=_REFUSALS)
async def widget_config(widget: WidgetBot) -> WidgetConfig:
    """The bot's name, welcome message, suggested questions and colour."""
    return service.config(widget.bot)


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses=_REFUSALS,
    dependencies=[Depends(limit_sessions_per_ip)],
)
async def create_session(
    data: SessionCreate, widget: WidgetBot, runtime: RuntimeDep
) -> SessionPublic:
    """A visitor session for this site. Send the current (or recently expired) token to renew
    it: same visitor, same conversation unless `new_conversation`."""
    return service.start_session(
        runtime.settings, widget.bot, widget.origin, data.session_token, data.new_conversation
    )


@router.post(
    "/messages",
    response_model=None,
    responses={
        **_REFUSALS,
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: sources, token…, done (or error)",
        },
        402: {"description": "`plan_limit_reached`: the bot's monthly messages are used up"},
    },  # fmt: skip
    dependencies=[Depends(limit_messages_per_ip)],
)
@reads_only  # the turn is written after generation, in a transaction of its own
async def post_message(
    data: VisitorMessageCreate,
    widget: WidgetBot,
    visitor: Visitor,
    _limits: Annotated[None, Depends(limit_visitor)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Ask the bot; the answer streams as chat's events (`sources`, `token`, `done`, `error`),
    with a keep-alive comment every 15 s."""
    turn = await service.start_turn(session, runtime, widget.bot, visitor, data.content)
    return EventStream(with_keepalive(generation.stream(runtime, turn)))


@router.get("/messages", response_model=Page[VisitorMessage], responses=_REFUSALS)
async def list_messages(
    widget: WidgetBot,
    visitor: Visitor,
    session: SessionDep,
    page: PageParamsDep,
    order: Annotated[Literal["asc", "desc"], Query(description="By time")] = "asc",
) -> Page[VisitorMessage]:
    """This visitor's conversation, oldest first."""
    items, total = await service.history(
        session, widget.bot, visitor, page, newest_first=order == "desc"
    )
    return Page[VisitorMessage](items=items, total=total, **page.model_dump())


@router.post("/messages/{message_id}/feedback", response_model=FeedbackPublic, responses=_REFUSALS)
async def rate_message(
    message_id: uuid.UUID,
    data: FeedbackCreate,
    widget: WidgetBot,
    visitor: Visitor,
    session: SessionDep,
) -> FeedbackPublic:
    """Thumbs up or down on an answer of this visitor's conversation."""
    feedback = await service.rate(session, widget.bot, visitor, message_id, data)
    return FeedbackPublic.model_validate(feedback)


_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREVIEW_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


@router.get("/preview", response_class=HTMLResponse, responses={404: {}, 409: {}})
async def preview(public_key: str, request: Request) -> HTMLResponse:
    """A page of this server running the real widget for the bot (the dashboard's Try it).
    Its origin is always allowed for the bot."""
    runtime = request.app.state.runtime
    if not _KEY.match(public_key):
        raise service.WidgetBotNotFound()
    bot = await service.public_bot(runtime, public_key)
    page = _PREVIEW.format(name=html.escape(bot.name), key=html.escape(public_key, quote=True))
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": _PREVIEW_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


_PREVIEW = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preview: {name}</title>
</head>
<body>
<main>
<h1>Preview: {name}</h1>
<p>This page runs the widget exactly as your site will. Conversations here are stored like
any visitor's.</p>
</main>
<script src="/widget.js" data-bot="{key}" data-open="true" async></script>
</body>
</html>
"""


@owner_router.get("/bots/{bot_id}/embed", response_model=EmbedPublic)
async def embed(bot: OwnedBot, runtime: RuntimeDep) -> EmbedPublic:
    """The snippet to paste into a site, and this bot's preview page."""
    base = runtime.settings.public_base_url.rstrip("/")
    return EmbedPublic(
        snippet=f'<script src="{base}/widget.js" data-bot="{bot.public_key}" async></script>',
        preview_url=f"{base}/api/v1/widget/{bot.public_key}/preview",
        allowed_origins=list(bot.allowed_origins or []),
    )
