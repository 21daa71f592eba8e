from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.chat import service
from app.chat.models import Message
from app.chat.service import BotConversation
from app.core.runtime import SessionDep
from app.users.dependencies import CurrentUser


async def get_owned_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> BotConversation:
    return await service.get_owned_conversation(session, user, conversation_id)


async def get_owned_message(
    message_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Message:
    return await service.get_owned_message(session, user, message_id)


# One of your conversations with its bot; someone else's or a deleted one is a 404.
OwnedConversation = Annotated[BotConversation, Depends(get_owned_conversation)]
OwnedMessage = Annotated[Message, Depends(get_owned_message)]
