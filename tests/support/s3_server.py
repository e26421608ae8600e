"""A real S3-compatible server on 127.0.0.1 for tests: moto's threaded server on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tests.support.server_process import free_port

ACCESS_KEY_ID = "mjrelay-test-key-id"
SECRET_ACCESS_KEY = "s3-secret-never-logged-8c1f"


@dataclass
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        """A plain boto3 client, to look at the bucket from outside mjrelay."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def new_bucket(self) -> str:
        """A fresh bucket (moto keeps state per process, so every test gets its own name)."""
        name = f"mjrelay-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = self.client()
        listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {
            item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for item in listing
        }

    def media_settings(self, bucket: str, prefix: str = "relay/") -> dict[str, Any]:
        """The ``[media]`` table pointing mjrelay at ``bucket`` on this server."""
        return {
            "backend": "s3",
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": bucket,
            "s3_region": "us-east-1",
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": SECRET_ACCESS_KEY,
            "s3_prefix": prefix,
        }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
