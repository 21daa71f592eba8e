"""All v1 routers under /api/v1."""

from fastapi import APIRouter

from app.billing.router import router as billing_router
from app.bots.router import router as bots_router
from app.chat.router import router as chat_router
from app.documents.router import router as documents_router
from app.ops.router import router as ops_router
from app.users.router import api_keys_router, auth_router, users_router

api_router = APIRouter(prefix="/api/v1")
for router in (
    auth_router,
    users_router,
    api_keys_router,
    bots_router,
    documents_router,
    chat_router,
    billing_router,
    ops_router,
):
    api_router.include_router(router)
