from app.core.errors import AppError, Forbidden, NotFound, Unauthorized


class WidgetBotNotFound(NotFound):
    code = "bot_not_found"
    message = "No bot has this public key."


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"
    message = "This site is not allowed to use this bot."


class InvalidSession(Unauthorized):
    code = "invalid_session"
    message = "The visitor session is missing, expired or not valid for this bot."


class QuotaReached(AppError):
    """The owner's monthly messages are used up. Visitors are not told the owner's plan."""

    status_code = 402
    code = "plan_limit_reached"
    message = "This assistant has answered all the questions it can this month."
