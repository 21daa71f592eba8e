from app.core.errors import AppError, Conflict, Forbidden, NotFound


class BotNotFound(NotFound):
    code = "bot_not_found"
    message = "Bot not found."


class BotInactive(Conflict):
    code = "bot_inactive"
    message = "This bot is switched off. Its owner can switch it on again."


class BotsOutOfReach(Forbidden):
    code = "bots_out_of_reach"
    message = "This API key is limited to some bots; it cannot create bots."


class ModelNotAllowed(AppError):
    status_code = 422
    code = "model_not_allowed"
    message = "This server does not offer that model."


class SlugTaken(Conflict):
    code = "slug_taken"
    message = "Another of your bots already has this slug."
