"""Where relay-hosted images are kept: the data dir (default) or an S3-compatible bucket."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MediaSettings(BaseModel):
    """``[media]``: the storage behind ``/mj/image/<key>``; clients see the same URLs either way."""

    backend: Literal["local", "s3"] = Field(
        "local",
        description="local: files in <data_dir>/images (one instance); s3: an S3-compatible "
        "bucket (several instances, or durable storage).",
    )
    s3_endpoint_url: str = Field(
        "", description="S3 endpoint URL of MinIO, R2, Ceph...; empty: AWS S3 itself."
    )
    s3_bucket: str = Field("", description="Bucket holding the images (required for s3).")
    s3_region: str = Field("us-east-1", description="Region of the bucket (signing).")
    s3_access_key_id: str = Field(
        "", description="Access key id; empty: the usual AWS credential chain."
    )
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="Secret access key paired with s3_access_key_id."
    )
    s3_prefix: str = Field(
        "", description="Prepended to every object name, e.g. 'mjrelay/' to share a bucket."
    )
    s3_addressing_style: Literal["path", "virtual", "auto"] = Field(
        "path",
        description="path: endpoint/bucket/key (MinIO and most self-hosted); virtual: "
        "bucket.endpoint/key.",
    )
    s3_timeout_seconds: float = Field(
        30.0, gt=0, description="Seconds one storage request may take before it fails."
    )
