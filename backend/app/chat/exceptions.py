from app.core.errors import AppError, Conflict, NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    message = "Conversation not found."


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found."


class FeedbackNotAllowed(Conflict):
    code = "feedback_not_allowed"
    message = "Only the bot's answers can be rated."


# LLM failures. Their message is the agent's person-safe text; the upstream error text is
# only logged (with the request id), never sent to the client.


class LLMRateLimited(AppError):
    status_code = 503
    code = "llm_rate_limited"
    message = "The language model is receiving too many requests. Please try again shortly."


class LLMTimeout(AppError):
    status_code = 504
    code = "llm_timeout"
    message = "The language model took too long to answer."


class LLMFailed(AppError):
    status_code = 502
    code = "llm_error"
    message = "The language model could not answer this request."
