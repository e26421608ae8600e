"""What a tenant may read about its own key: balance, limits, callback secret and deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mjrelay.api.contract import errors
from mjrelay.api.deps import AccountDep, CurrentPrincipal, TasksDep
from mjrelay.api.wire import Envelope
from mjrelay.store.ranges import MAX_INT

router = APIRouter(prefix="/mj", tags=["account"])


@router.get("/account", response_model=Envelope)
async def account(principal: CurrentPrincipal, accounts: AccountDep) -> Envelope:
    """Balance (null = unlimited), limits and jobs in flight of the calling key."""
    return Envelope(code=1, description="Success", result=await accounts.summary(principal.key_id))


@router.get("/account/ledger", response_model=Envelope)
async def ledger(
    principal: CurrentPrincipal,
    accounts: AccountDep,
    limit: int = Query(50, ge=1, le=500),
    before: int | None = Query(
        None, ge=1, le=MAX_INT, description="Cursor: entries older than this id."
    ),
) -> Envelope:
    """Recent balance movements of the calling key only (newest first), for its usage view.

    Scoped by the key id from the auth dependency: a tenant never reads another key's entries.
    """
    entries = await accounts.entries(principal.key_id, limit=limit, before_id=before)
    return Envelope(code=1, description="Success", result=[e.to_json() for e in entries])


@router.get("/account/callback-secret", response_model=Envelope)
async def callback_secret(principal: CurrentPrincipal, accounts: AccountDep) -> Envelope:
    """The secret that signs this key's callbacks (``X-Mjrelay-Signature``)."""
    secret = await accounts.callback_secret(principal.key_id)
    return Envelope(code=1, description="Success", result=secret)


@router.get("/task/{task_id}/callbacks", response_model=Envelope, responses=errors(404))
async def callbacks(
    task_id: str, principal: CurrentPrincipal, tasks: TasksDep, accounts: AccountDep
) -> Envelope:
    """The delivery log of the task's notifyHook: every state queued and every attempt."""
    await tasks.fetch_wire(principal.tenant_id, task_id)  # 404 unless the caller's
    return Envelope(code=1, description="Success", result=await accounts.callback_log(task_id))
