from app.core.errors import NotFound


class InsightNotFound(NotFound):
    code = "insight_not_found"
    message = "No such group of unanswered questions."
