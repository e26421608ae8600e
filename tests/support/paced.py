"""A live relay whose sandbox jobs take long enough to show several progress steps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mjrelay.core.settings import SandboxSettings
from tests.support.live import LiveRelay, running_relay
from tests.support.settings import fast_settings


@asynccontextmanager
async def paced_relay(
    data_dir: Path, *, job_seconds: float = 0.4, steps: int = 3, **overrides: Any
) -> AsyncIterator[LiveRelay]:
    settings = fast_settings(
        data_dir,
        sandbox=SandboxSettings(job_seconds=job_seconds, progress_steps=steps),
        **overrides,
    )
    async with running_relay(settings) as relay:
        yield relay
