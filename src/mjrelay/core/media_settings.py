"""Where relay-hosted images are kept: the data dir (default) or an S3-compatible bucket."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MediaSettings(BaseModel):
    """``[media]``: the storage behind ``/mj/image/<key>``; clients see the same URLs either way."""

    backend: Literal["local", "s3"] = Field("local", description="local: <data_dir>/images.")
    s3_endpoint_url: str = Field("", description="Empty: AWS; else MinIO, R2, Ceph, ... URL.")
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_prefix: str = Field("", description="Prepended to every object name, e.g. 'mjrelay/'.")
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    s3_timeout_seconds: float = Field(30.0, gt=0)
