"""Byte storage behind ``MediaStore``: the local data dir or an S3-compatible bucket.

Backends are blocking on purpose (plain files, boto3): ``MediaStore`` runs them in worker threads
for the event loop, and the sandbox renderer, which already runs in a worker thread, calls them
directly. Keys are validated by ``MediaStore`` before they reach a backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from mjrelay.core.logging import get_logger
from mjrelay.core.settings.media import MediaSettings

log = get_logger("mjrelay.media")

CHUNK_BYTES = 256 * 1024


class MediaBackend(Protocol):
    """Where image bytes live, addressed by an already validated key."""

    name: str

    def prepare(self) -> None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The bytes of ``key``, or None when there is no such object."""
        ...

    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        """Size and a chunk iterator of ``key`` (for streaming), or None when missing."""
        ...


class LocalBackend:
    """Files under ``<data_dir>/images``, written atomically and fsynced (today's behaviour)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        try:
            handle = open(self.root / key, "rb")  # noqa: SIM115 - closed by the iterator
        except (FileNotFoundError, IsADirectoryError):
            return None
        size = os.fstat(handle.fileno()).st_size

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        return size, chunks()


class S3Backend:
    """Objects ``<prefix><key>`` in one bucket of any S3-compatible service (boto3 client)."""

    name = "s3"

    def __init__(self, settings: MediaSettings, client: Any = None) -> None:
        if not settings.s3_bucket:
            raise ValueError("media.s3_bucket is required when media.backend = 's3'")
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self._client = client if client is not None else _make_client(settings)
        self._endpoint = settings.s3_endpoint_url or "aws"

    def prepare(self) -> None:
        # The bucket is the operator's: check that it is reachable, never create it.
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as error:  # botocore errors carry no credentials, only the operation
            raise RuntimeError(
                f"media: S3 bucket {self.bucket!r} at {self._endpoint} is not usable: {error}"
            ) from error
        log.info("media.s3_ready", endpoint=self._endpoint, bucket=self.bucket, prefix=self.prefix)

    def put(self, key: str, data: bytes) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=content_type_of(key),
        )

    def get(self, key: str) -> bytes | None:
        opened = self.open(key)
        if opened is None:
            return None
        return b"".join(opened[1])

    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self._client.exceptions.NoSuchKey:
            return None
        except Exception as error:  # botocore ClientError: 404 without a NoSuchKey code
            if _status_of(error) == 404:
                return None
            raise
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := body.read(CHUNK_BYTES):
                    yield chunk
            finally:
                body.close()

        return int(answer["ContentLength"]), chunks()


def content_type_of(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "mp4": "video/mp4"}.get(ext, f"image/{ext}")


def _status_of(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def _make_client(settings: MediaSettings) -> Any:
    import boto3
    from botocore.config import Config

    secret = settings.s3_secret_access_key.get_secret_value()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=secret or None,
        config=Config(
            s3={"addressing_style": settings.s3_addressing_style},
            connect_timeout=settings.s3_timeout_seconds,
            read_timeout=settings.s3_timeout_seconds,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def build_backend(settings: MediaSettings, images_dir: Path) -> MediaBackend:
    if settings.backend == "s3":
        return S3Backend(settings)
    return LocalBackend(images_dir)
