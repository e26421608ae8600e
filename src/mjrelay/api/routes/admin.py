"""``/admin``: the operator's API (separate admin token). Answers use the wire envelope."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from pydantic import Field

from mjrelay.api.admin_auth import Admin
from mjrelay.api.deps import AdminDep, BaseURL, ChannelAdminDep
from mjrelay.api.wire import Envelope, RequestModel
from mjrelay.core.errors import ValidationFailed
from mjrelay.core.money import InvalidAmount, parse_amount
from mjrelay.domain.task import TaskAction, TaskStatus
from mjrelay.media.store import BASE_URL_MARKER
from mjrelay.services.channels.admin import ChannelAdmin
from mjrelay.services.operator.admin import key_json
from mjrelay.store.ranges import MAX_BIG_INT, MAX_INT
from mjrelay.store.search import TaskQuery

router = APIRouter(prefix="/admin", tags=["admin"])

# Requests per second a key may be allowed: beyond this, "unlimited" (0) is what is meant, and
# the rate limiter's arithmetic on huge floats would overflow.
MAX_RATE_PER_SECOND = 1_000_000.0

# A key id in a path: beyond the id column's range it can name no key (400, not a server error).
KeyId = Annotated[int, Path(ge=1, le=MAX_INT)]


class TenantRequest(RequestModel):
    name: str = ""


class KeyRequest(RequestModel):
    name: str = ""
    tenant: str | None = None
    balance: Any = Field(None, description="Starting balance; null = unlimited.")
    rate_per_second: float | None = Field(None, ge=0, le=MAX_RATE_PER_SECOND, allow_inf_nan=False)
    max_in_flight: int | None = Field(None, ge=0, le=MAX_INT)


class AmountRequest(RequestModel):
    amount: Any = None
    note: str = Field("", max_length=200)


class BalanceRequest(RequestModel):
    balance: Any = Field(None, description="New balance; null = unlimited.")
    note: str = Field("", max_length=200)


class LimitsRequest(RequestModel):
    rate_per_second: float | None = Field(None, ge=0, le=MAX_RATE_PER_SECOND, allow_inf_nan=False)
    max_in_flight: int | None = Field(None, ge=0, le=MAX_INT)


class PricesRequest(RequestModel):
    prices: dict[str, Any] = Field(default_factory=dict, description="ACTION: price or null.")
    mode_multipliers: dict[str, Any] = Field(default_factory=dict)


def _ok(result: Any, description: str = "Success") -> Envelope:
    return Envelope(code=1, description=description, result=result)


def _amount(value: Any, field: str, *, nullable: bool) -> Decimal | None:
    if value is None:
        if nullable:
            return None
        raise ValidationFailed(f"{field}: required")
    try:
        return parse_amount(value)
    except InvalidAmount as exc:
        raise ValidationFailed(f"{field}: {exc}") from exc


def _amounts(values: dict[str, Any], field: str) -> dict[str, Decimal | None]:
    return {name: _amount(v, f"{field}.{name}", nullable=True) for name, v in values.items()}


@router.get("/tenants", response_model=Envelope)
async def tenants(_admin: Admin, service: AdminDep) -> Envelope:
    return _ok(await service.tenants())


@router.post("/tenants", response_model=Envelope)
async def create_tenant(body: TenantRequest, admin: Admin, service: AdminDep) -> Envelope:
    return _ok(await service.create_tenant(body.name, actor=admin))


@router.get("/keys", response_model=Envelope)
async def keys(
    _admin: Admin,
    service: AdminDep,
    tenant_id: int | None = Query(None, alias="tenantId", ge=1, le=MAX_INT),
) -> Envelope:
    return _ok([key_json(a) for a in await service.keys(tenant_id=tenant_id)])


@router.post("/keys", response_model=Envelope)
async def create_key(body: KeyRequest, admin: Admin, service: AdminDep) -> Envelope:
    key, info = await service.create_key(
        body.name,
        actor=admin,
        tenant=body.tenant,
        balance=_amount(body.balance, "balance", nullable=True),
        rate_per_second=body.rate_per_second,
        max_in_flight=body.max_in_flight,
    )
    account = await service.key(info.id)
    return _ok({**key_json(account), "key": key}, "Key created; the key is shown only once")


@router.get("/keys/{key_id}", response_model=Envelope)
async def key(key_id: KeyId, _admin: Admin, service: AdminDep) -> Envelope:
    return _ok(key_json(await service.key(key_id)))


@router.post("/keys/{key_id}/revoke", response_model=Envelope)
async def revoke(key_id: KeyId, admin: Admin, service: AdminDep) -> Envelope:
    count = await service.revoke_key(str(key_id), actor=admin)
    if count == 0:
        raise ValidationFailed(f"key {key_id}: no active key with this id")
    return _ok({"revoked": count})


@router.post("/keys/{key_id}/topup", response_model=Envelope)
async def top_up(key_id: KeyId, body: AmountRequest, admin: Admin, service: AdminDep) -> Envelope:
    amount = _amount(body.amount, "amount", nullable=False)
    assert amount is not None
    balance = await service.top_up(key_id, amount, actor=admin, note=body.note)
    return _ok({"keyId": key_id, "balance": balance})


@router.put("/keys/{key_id}/balance", response_model=Envelope)
async def set_balance(
    key_id: KeyId, body: BalanceRequest, admin: Admin, service: AdminDep
) -> Envelope:
    balance = await service.set_balance(
        key_id, _amount(body.balance, "balance", nullable=True), actor=admin, note=body.note
    )
    return _ok({"keyId": key_id, "balance": balance})


@router.put("/keys/{key_id}/limits", response_model=Envelope)
async def set_limits(
    key_id: KeyId, body: LimitsRequest, admin: Admin, service: AdminDep
) -> Envelope:
    account = await service.set_limits(
        key_id,
        actor=admin,
        rate_per_second=body.rate_per_second,
        max_in_flight=body.max_in_flight,
    )
    return _ok(key_json(account))


@router.get("/keys/{key_id}/ledger", response_model=Envelope)
async def ledger(
    key_id: KeyId,
    _admin: Admin,
    service: AdminDep,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, le=MAX_INT),
) -> Envelope:
    entries = await service.ledger(key_id, limit=limit, before_id=before)
    return _ok([entry.to_json() for entry in entries])


@router.get("/prices", response_model=Envelope)
async def prices(_admin: Admin, service: AdminDep) -> Envelope:
    return _ok(await service.prices())


@router.put("/prices", response_model=Envelope)
async def set_prices(body: PricesRequest, admin: Admin, service: AdminDep) -> Envelope:
    known = {a.value for a in TaskAction} | {"MODAL"}
    unknown = [name for name in body.prices if name.upper() not in known]
    if unknown:
        raise ValidationFailed(f"prices: unknown action {unknown[0]!r}")
    table = await service.set_prices(
        _amounts(body.prices, "prices"),
        _amounts(body.mode_multipliers, "modeMultipliers"),
        actor=admin,
    )
    return _ok(table)


@router.get("/tasks", response_model=Envelope)
async def tasks(
    _admin: Admin,
    service: AdminDep,
    base: BaseURL,
    tenant_id: int | None = Query(None, alias="tenantId", ge=1, le=MAX_INT),
    status: TaskStatus | None = None,
    action: TaskAction | None = None,
    engine: str | None = Query(None, max_length=64),
    since: int | None = Query(
        None, ge=0, le=MAX_BIG_INT, description="Submitted at or after (epoch ms)."
    ),
    until: int | None = Query(
        None, ge=0, le=MAX_BIG_INT, description="Submitted before (epoch ms)."
    ),
    before: str | None = Query(None, max_length=32, description="Cursor: ids older than this."),
    limit: int = Query(100, ge=1, le=1000),
) -> Envelope:
    found = await service.search_tasks(
        TaskQuery(
            tenant_id=tenant_id,
            status=None if status is None else status.value,
            action=None if action is None else action.value,
            engine=engine,
            since_ms=since,
            until_ms=until,
            before_id=before,
            limit=limit,
        )
    )
    return _ok(
        [
            {
                "tenantId": task.tenant_id,
                "engine": task.engine,
                "task": orjson.loads(task.wire.replace(BASE_URL_MARKER.encode(), base.encode())),
            }
            for task in found
        ]
    )


@router.get("/usage", response_model=Envelope)
async def usage(
    _admin: Admin,
    service: AdminDep,
    since: int = Query(0, ge=0, le=MAX_BIG_INT, description="Epoch ms."),
    until: int | None = Query(None, ge=0, le=MAX_BIG_INT, description="Epoch ms."),
) -> Envelope:
    return _ok(await service.usage(since_ms=since, until_ms=until))


@router.get("/audit", response_model=Envelope)
async def audit(
    _admin: Admin,
    service: AdminDep,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, le=MAX_INT),
) -> Envelope:
    return _ok([entry.to_json() for entry in await service.audit(limit=limit, before_id=before)])


# ---- channels -------------------------------------------------------------------------------


@router.get("/channels", response_model=Envelope)
async def channels(_admin: Admin, channel_admin: ChannelAdminDep) -> Envelope:
    """Every channel with its health and load on this instance; never its options (secrets)."""
    return _ok(await channel_admin.listing())


async def _switch(name: str, *, paused: bool, admin: str, channel_admin: ChannelAdmin) -> Envelope:
    spec = await channel_admin.switch(name, paused=paused, actor=admin)
    return _ok({"name": spec.name, "enabled": spec.enabled, "paused": spec.paused})


@router.post("/channels/{name}/disable", response_model=Envelope)
async def disable_channel(name: str, admin: Admin, channel_admin: ChannelAdminDep) -> Envelope:
    return await _switch(name, paused=True, admin=admin, channel_admin=channel_admin)


@router.post("/channels/{name}/enable", response_model=Envelope)
async def enable_channel(name: str, admin: Admin, channel_admin: ChannelAdminDep) -> Envelope:
    return await _switch(name, paused=False, admin=admin, channel_admin=channel_admin)
