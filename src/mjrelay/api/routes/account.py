"""What a tenant may read about its own key: balance, limits, callback secret and deliveries."""

from __future__ import annotations

from fastapi import APIRouter

from mjrelay.api.deps import CurrentPrincipal, CurrentRelay
from mjrelay.api.wire import Envelope
from mjrelay.core.money import show

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


@router.get("/account/callback-secret", response_model=Envelope)
async def callback_secret(principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    """The secret that signs this key's callbacks (``X-Mjrelay-Signature``)."""
    secret = await relay.ops.callbacks.secret(principal.key_id)
    return Envelope(code=1, description="Success", result=secret)


@router.get("/task/{task_id}/callbacks", response_model=Envelope)
async def callbacks(task_id: str, principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    """The delivery log of the task's notifyHook: every state queued and every attempt."""
    await relay.tasks.fetch_wire(principal.tenant_id, task_id)  # 404 unless the caller's
    return Envelope(code=1, description="Success", result=await relay.ops.callbacks.log(task_id))
