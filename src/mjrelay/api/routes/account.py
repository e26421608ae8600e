"""What a tenant may read about its own key: balance, limits, callback secret and deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mjrelay.api.contract import errors
from mjrelay.api.deps import CurrentPrincipal, CurrentRelay
from mjrelay.api.wire import Envelope
from mjrelay.core.money import show
from mjrelay.store.ranges import MAX_INT

router = APIRouter(prefix="/mj", tags=["account"])


@router.get("/account", response_model=Envelope)
async def account(principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    """Balance (null = unlimited), limits and jobs in flight of the calling key."""
    balance = await relay.ops.ledger.balance(principal.key_id)
    rate, in_flight_limit = await relay.ops.key_limits(principal.key_id)
    return Envelope(
        code=1,
        description="Success",
        result={
            "keyId": principal.key_id,
            "balance": show(balance),
            "ratePerSecond": rate or None,
            "maxInFlight": in_flight_limit or None,
        },
    )


@router.get("/account/ledger", response_model=Envelope)
async def ledger(
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    limit: int = Query(50, ge=1, le=500),
    before: int | None = Query(
        None, ge=1, le=MAX_INT, description="Cursor: entries older than this id."
    ),
) -> Envelope:
    """Recent balance movements of the calling key only (newest first), for its usage view.

    Scoped by the key id from the auth dependency: a tenant never reads another key's entries.
    """
    entries = await relay.ops.ledger.entries(key_id=principal.key_id, limit=limit, before_id=before)
    return Envelope(code=1, description="Success", result=[e.to_json() for e in entries])


@router.get("/account/callback-secret", response_model=Envelope)
async def callback_secret(principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    """The secret that signs this key's callbacks (``X-Mjrelay-Signature``)."""
    secret = await relay.ops.callbacks.secret(principal.key_id)
    return Envelope(code=1, description="Success", result=secret)


@router.get("/task/{task_id}/callbacks", response_model=Envelope, responses=errors(404))
async def callbacks(task_id: str, principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    """The delivery log of the task's notifyHook: every state queued and every attempt."""
    await relay.tasks.fetch_wire(principal.tenant_id, task_id)  # 404 unless the caller's
    return Envelope(code=1, description="Success", result=await relay.ops.callbacks.log(task_id))
