"""Where the relay listens, how it logs, and the limits on what a request may carry."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode


class ServerSettings(BaseModel):
    """Top-level keys of the HTTP server (``MJRELAY_HOST``, ``MJRELAY_MAX_BODY_BYTES``...)."""

    host: str = Field(
        "127.0.0.1",
        description="Interface to listen on; 0.0.0.0 to accept connections from other machines. "
        "`serve --host` wins.",
    )
    port: int = Field(8080, description="TCP port to listen on. `serve --port` wins.")
    public_url: str = Field(
        "",
        description="Base of the absolute URLs the relay hands out (images, callbacks), e.g. "
        "https://relay.example. Empty: taken from each request; set it behind a proxy.",
    )
    log_level: str = Field(
        "INFO", description="Least severe log level written: DEBUG, INFO, WARNING, ERROR."
    )
    log_json: bool = Field(
        False, description="Write logs as JSON lines (for log collectors) instead of text."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated in the env var). "
        "Empty: no cross-origin access.",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        gt=0,
        description="Largest request body in bytes (413 beyond); raise it for big base64 images.",
    )
    max_image_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Largest input image in bytes, after decoding."
    )
    max_image_pixels: int = Field(
        40_000_000,
        gt=0,
        description="Largest input image in pixels (width x height); guards memory on decode.",
    )
    max_prompt_chars: int = Field(
        6000, gt=0, description="Longest prompt in characters; longer ones are refused."
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # The env var is one comma-separated string; TOML gives a real list.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        # URLs are built as public_url + "/mj/...": a trailing slash would double.
        return value.rstrip("/")
