from app.core.errors import AppError, NotFound


class ModelNotFound(NotFound):
    code = "model_not_found"
    message = "No bot of yours has this id or slug (or this API key may not use it)."


class NoQuestion(AppError):
    status_code = 400
    code = "invalid_request_error"
    message = "The last message must be the user's question, with text."
