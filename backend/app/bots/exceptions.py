from app.core.errors import Conflict, NotFound


class BotNotFound(NotFound):
    code = "bot_not_found"
    message = "Bot not found."


class BotInactive(Conflict):
    code = "bot_inactive"
    message = "This bot is switched off. Its owner can switch it on again."
