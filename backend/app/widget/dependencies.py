"""The widget's typed dependencies: the bot a public key names, seen from an allowed site,
and the visitor's session. Limits that need no database run first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.bots.exceptions import BotInactive
from app.core import ratelimit
from app.core.runtime import Runtime
from app.users.dependencies import client_ip
from app.widget import origins, service, tokens
from app.widget.exceptions import InvalidSession, OriginNotAllowed


@dataclass(frozen=True, slots=True)
class WidgetBotContext:
    bot: service.PublicBot
    origin: str


async def get_widget_bot(public_key: str, request: Request) -> WidgetBotContext:
    """404 for an unknown key, 403 `origin_not_allowed` for a site the bot does not allow,
    409 `bot_inactive` for a bot switched off."""
    runtime: Runtime = request.app.state.runtime
    if len(public_key) > 64:
        raise service.WidgetBotNotFound()
    bot = await service.public_bot(runtime, public_key)
    base_url = runtime.settings.public_base_url
    origin = origins.request_origin(request.scope, base_url)
    own = origins.own_origins(request.scope, base_url)
    if origin is None or not origins.allows(list(bot.allowed_origins), origin, own):
        raise OriginNotAllowed(details={"origin": origin})
    if not bot.is_active:
        raise BotInactive()
    return WidgetBotContext(bot, origin)


WidgetBot = Annotated[WidgetBotContext, Depends(get_widget_bot)]


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSession()
    return token.strip()


async def get_visitor(widget: WidgetBot, request: Request) -> tokens.VisitorSession:
    runtime: Runtime = request.app.state.runtime
    return tokens.verify(
        runtime.settings,
        _bearer(request),
        bot_id=widget.bot.id,
        public_key=widget.bot.public_key,
        origin=widget.origin,
    )


Visitor = Annotated[tokens.VisitorSession, Depends(get_visitor)]


async def limit_messages_per_ip(request: Request) -> None:
    """Before anything else: a flood from one address costs no database work."""
    runtime: Runtime = request.app.state.runtime
    quota = await runtime.rate_limiter.hit(
        runtime.settings.widget_ip_rate_limit, "widget-ip", client_ip(request),
        message="Too many messages from this address; wait a moment.",
    )  # fmt: skip
    ratelimit.record(request.state, quota)


async def limit_sessions_per_ip(request: Request) -> None:
    runtime: Runtime = request.app.state.runtime
    quota = await runtime.rate_limiter.hit(
        runtime.settings.widget_session_rate_limit, "widget-session", client_ip(request),
        message="Too many new visitors from this address; try again later.",
    )  # fmt: skip
    ratelimit.record(request.state, quota)


async def limit_visitor(widget: WidgetBot, visitor: Visitor, request: Request) -> None:
    """Per visitor, then per bot per day (the bot's own limit or the server's)."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    quota = await runtime.rate_limiter.hit(
        settings.widget_visitor_rate_limit, "widget-visitor", str(widget.bot.id),
        visitor.visitor_id, message="You are sending messages too quickly; wait a moment.",
    )  # fmt: skip
    ratelimit.record(request.state, quota)
    daily = widget.bot.daily_message_limit or settings.widget_bot_daily_limit
    quota = await runtime.rate_limiter.hit(
        f"{daily}/day", "widget-bot", str(widget.bot.id),
        message="This assistant has answered all the questions it can today.",
    )  # fmt: skip
    ratelimit.record(request.state, quota)
