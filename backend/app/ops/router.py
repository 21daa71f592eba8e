from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.core.errors import ServiceUnavailable
from app.core.runtime import RuntimeDep
from app.ops import service

router = APIRouter(prefix="/health", tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


class NotReady(ServiceUnavailable):
    code = "not_ready"


@router.get("", response_model=Health)
async def liveness() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"description": "A part is down"}})
async def readiness(runtime: RuntimeDep) -> Readiness:
    """Database, broker, cache and vector store, each by name. 503 names the failing part."""
    checks = await service.readiness(runtime)
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        raise NotReady(f"Not ready: {', '.join(down)} down.", details={"checks": checks})
    return Readiness(status="ok", checks=checks)
