from app.core.errors import Conflict, NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    message = "Conversation not found."


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found."


class FeedbackNotAllowed(Conflict):
    code = "feedback_not_allowed"
    message = "Only the bot's answers can be rated."
