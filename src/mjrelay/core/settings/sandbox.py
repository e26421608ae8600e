"""The built-in simulated Midjourney (``[sandbox]``; also the options of sandbox channels)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SandboxSettings(BaseModel):
    """The built-in simulated Midjourney: fake jobs with real task lifecycles, for trials/tests."""

    job_seconds: float = Field(5.0, ge=0, description="Wall time of one simulated job, in seconds.")
    progress_steps: int = Field(
        3, ge=1, le=20, description="Partial progress updates sent per job."
    )
    core_size: int = Field(3, ge=1, description="Jobs that run at once (code 22 beyond).")
    queue_size: int = Field(10, ge=0, description="Jobs that may wait (code 23 beyond).")
    banned_words: list[str] = Field(
        default_factory=lambda: ["gore", "nsfw", "nude"],
        description="Whole words that make a prompt rejected with code 24.",
    )
