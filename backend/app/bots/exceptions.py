from app.core.errors import NotFound


class BotNotFound(NotFound):
    code = "bot_not_found"
    message = "Bot not found."
