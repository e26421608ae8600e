"""Channel persistence: declared channels, the operator's pause switch, engine state, leases.

Leases are one conditional ``UPDATE`` (take the row if it is free, expired or already ours), which
is atomic on PostgreSQL (the second writer re-checks the ``WHERE`` after the first commits) and
on SQLite (one writer at a time), so exactly one instance polls a channel at any moment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from mjrelay.core.ids import now_ms
from mjrelay.domain.channel import ChannelSpec
from mjrelay.store.db import Database
from mjrelay.store.models import ChannelRow


class ChannelExists(Exception):
    """``channels add`` with a name that is taken."""


def _to_spec(row: ChannelRow) -> ChannelSpec:
    return ChannelSpec(
        name=row.name,
        engine=row.engine,
        enabled=row.enabled,
        paused=row.paused,
        weight=row.weight,
        priority=row.priority,
        modes=frozenset(row.modes),
        max_concurrency=row.max_concurrency,
        options=dict(row.options),
        source=row.source,
    )


def _declared(spec: ChannelSpec) -> dict[str, Any]:
    return {
        "engine": spec.engine,
        "enabled": spec.enabled,
        "weight": spec.weight,
        "priority": spec.priority,
        "modes": sorted(spec.modes),
        "max_concurrency": spec.max_concurrency,
        "options": spec.options,
        "source": spec.source,
    }


class ChannelStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[ChannelSpec]:
        async with self._db.sessions() as session:
            rows = (await session.scalars(select(ChannelRow).order_by(ChannelRow.name))).all()
            return [_to_spec(row) for row in rows]

    async def get(self, name: str) -> ChannelSpec | None:
        async with self._db.sessions() as session:
            row = await session.get(ChannelRow, name)
            return None if row is None else _to_spec(row)

    async def sync_declared(self, specs: list[ChannelSpec]) -> None:
        """Write config-declared channels; keeps each row's pause switch, state and lease."""
        now = now_ms()
        async with self._db.sessions() as session:
            for spec in specs:
                row = await session.get(ChannelRow, spec.name)
                if row is None:
                    session.add(
                        ChannelRow(
                            name=spec.name,
                            paused=False,
                            state={},
                            created_ms=now,
                            updated_ms=now,
                            **_declared(spec),
                        )
                    )
                else:
                    for key, value in _declared(spec).items():
                        setattr(row, key, value)
                    row.updated_ms = now
            await session.commit()

    async def add(self, spec: ChannelSpec) -> None:
        now = now_ms()
        async with self._db.sessions() as session:
            session.add(
                ChannelRow(
                    name=spec.name,
                    paused=spec.paused,
                    state={},
                    created_ms=now,
                    updated_ms=now,
                    **_declared(spec),
                )
            )
            try:
                await session.commit()
            except IntegrityError as exc:
                raise ChannelExists(spec.name) from exc

    async def set_paused(self, name: str, paused: bool) -> ChannelSpec | None:
        """The runtime switch; enabling a CLI-added channel also sets its declared ``enabled``."""
        async with self._db.sessions() as session:
            row = await session.get(ChannelRow, name)
            if row is None:
                return None
            row.paused = paused
            if not paused and row.source == "cli":
                row.enabled = True
            row.updated_ms = now_ms()
            await session.commit()
            return _to_spec(row)

    async def get_state(self, name: str) -> dict[str, Any]:
        async with self._db.sessions() as session:
            row = await session.get(ChannelRow, name)
            return {} if row is None else dict(row.state)

    async def set_state(self, name: str, state: dict[str, Any]) -> None:
        """Engine-owned runtime state of a channel (e.g. a Discord account session)."""
        async with self._db.sessions() as session:
            await session.execute(
                update(ChannelRow)
                .where(ChannelRow.name == name)
                .values(state=state, updated_ms=now_ms())
            )
            await session.commit()

    async def try_lease(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take or renew the channel's lease for ``ttl_ms``; False while another owner holds it."""
        now = now_ms()
        statement = (
            update(ChannelRow)
            .where(
                ChannelRow.name == name,
                or_(
                    ChannelRow.lease_owner.is_(None),
                    ChannelRow.lease_owner == owner,
                    ChannelRow.lease_until_ms < now,
                ),
            )
            .values(lease_owner=owner, lease_until_ms=now + ttl_ms)
        )
        async with self._db.sessions() as session:
            result = await session.execute(statement)
            await session.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release_lease(self, name: str, owner: str) -> None:
        async with self._db.sessions() as session:
            await session.execute(
                update(ChannelRow)
                .where(ChannelRow.name == name, ChannelRow.lease_owner == owner)
                .values(lease_owner=None, lease_until_ms=None)
            )
            await session.commit()
