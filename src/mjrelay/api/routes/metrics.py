"""``/metrics`` in the Prometheus text format.

It reveals business volume, so it needs the admin token unless ``metrics_public`` is set; with
neither, it does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mjrelay.api.admin_auth import MetricsAccess
from mjrelay.api.contract import errors
from mjrelay.api.deps import MetricsDep

router = APIRouter(tags=["service"])


@router.get("/metrics", response_class=Response, responses=errors(401, 404))
async def metrics(_access: MetricsAccess, exporter: MetricsDep) -> Response:
    return Response(await exporter.render(), media_type=CONTENT_TYPE_LATEST)
