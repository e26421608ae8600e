"""Settings and paths shared by the tests (helpers, not fixtures: those live in conftest)."""

from __future__ import annotations

from pathlib import Path

from mjrelay.core.settings import SandboxSettings, Settings

# A copy of the contract's seed example (shared/wire/seed-task-example.json), kept in the repo so
# the tests need nothing outside it.
SEED_EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "seed-task-example.json"


def fast_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: a private data dir and a sandbox that finishes in a blink."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "sweep_interval_seconds": 0.2,
        "sandbox": SandboxSettings(job_seconds=0.05, progress_steps=1),
        "create_initial_key": False,
        "auth_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
