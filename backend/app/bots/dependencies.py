from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.bots import service
from app.bots.models import Bot
from app.core.runtime import SessionDep
from app.users.dependencies import CurrentUser


async def get_owned_bot(bot_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Bot:
    return await service.get_owned(session, user, bot_id)


# Loads the bot and checks ownership in one place: another owner's bot is a 404.
OwnedBot = Annotated[Bot, Depends(get_owned_bot)]
