from app.core.errors import Conflict, NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    message = "Conversation not found."


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found."


class ConversationReadOnly(Conflict):
    code = "conversation_read_only"
    message = "This is a visitor's conversation: you can read it, not post in it."


class FeedbackNotAllowed(Conflict):
    code = "feedback_not_allowed"
    message = "Only the bot's answers can be rated."
