"""Fuzzes the served ``/openapi.json`` against the in-process app with schemathesis.

Every operation in the document gets generated requests (valid ones, and invalid ones that break
its declared parameters and bodies), sent in-process through the ASGI app: ``/mj`` routes with a
user key, ``/admin`` and ``/metrics`` with the admin token. Each answer must be no server error,
a status the document declares for that operation, a declared content type, and a body that
matches the declared schema. The document is therefore a truthful contract: any finding is a
server bug to fix, never a check to loosen.

Bounded for a small CI box (about 20 s per database on two cores): a few examples per operation
and generation mode, no shrinking, no deadline (a shared box is slow at times), derandomized
(the same cases on every run, so a failure reproduces in CI and locally alike). Run on SQLite and
PostgreSQL, which refuse different input.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.support.databases import fresh_postgres_database
from tests.support.settings import fast_settings

from mjrelay.api.app import create_app
from mjrelay.wiring import Relay

ADMIN_TOKEN = "fuzz-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Left out, and why:
# - the two SSE streams (``/mj/task/stream``, ``/mj/task/{id}/stream``): a tenant stream never
#   ends, so every generated request would wait for the client timeout; tests/api/test_streams.py
#   covers them with a real SSE reader.
# - the dashboard (``/ui``) is not in the document at all (static files, ``include_in_schema``
#   off), so there is nothing to fuzz there.
POSTGRES = pytest.mark.postgres
EXCLUDED_PATH = re.compile(r"/stream$")
EXAMPLES_PER_OPERATION = 10


@dataclass(frozen=True)
class Fuzzed:
    schema: BaseSchema
    user_key: str

    def credentials_for(self, path: str) -> dict[str, str]:
        """The admin token on operator routes, a user key on everything else."""
        if path.startswith("/admin") or path == "/metrics":
            return dict(ADMIN_HEADERS)
        return {"Authorization": f"Bearer {self.user_key}"}


@contextmanager
def database_url(kind: str) -> Iterator[str]:
    """The relay's database: its default SQLite file (""), or a throwaway PostgreSQL database.

    Both, because they refuse different input: PostgreSQL text cannot hold NUL, its ids are
    32-bit; SQLite refuses integers beyond 64 bits.
    """
    if kind == "sqlite":
        yield ""
        return
    with asyncio.Runner() as runner:  # one loop: the database is created and dropped on it
        database = fresh_postgres_database()
        url = runner.run(database.__aenter__())
        try:
            yield url
        finally:
            runner.run(database.__aexit__(None, None, None))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=POSTGRES)])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    """The served document of a relay on a temp dir, with its lifespan run by schemathesis."""
    with database_url(request.param) as url:
        data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
        relay_settings = fast_settings(
            data_dir, admin_token=SecretStr(ADMIN_TOKEN), database_url=url
        )
        app = create_app(Relay.build(relay_settings))
        # Loading the document starts the app's lifespan (the relay) in schemathesis' event loop.
        schema = from_asgi("/openapi.json", app)
        try:
            created = (
                schema["/admin/keys"]["POST"]
                .Case(body={"name": "fuzz"}, headers=dict(ADMIN_HEADERS))
                .call()
            )
            assert created.status_code == 200, created.text
            yield Fuzzed(schema, created.json()["result"]["key"])
        finally:
            shutdown_lifespans()


@dataclass
class Tally:
    operations: int = 0
    cases: int = 0
    findings: list[str] = field(default_factory=list)


def fuzz_operation(
    fuzzed: Fuzzed, operation: APIOperation, mode: GenerationMode, tally: Tally
) -> None:
    """Runs the checks on generated cases of one operation; records the first finding."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        tally.cases += 1
        case.call_and_validate(headers=fuzzed.credentials_for(case.path), checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body has no invalid request to generate.
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (FailureGroup, Exception) as exc:  # a finding: keep going, report them all at once
        tally.findings.append(f"{operation.label} ({mode.value}): {exc}")


def test_the_served_document_is_truthful(fuzzed: Fuzzed) -> None:
    tally = Tally()
    for result in fuzzed.schema.get_all_operations():
        operation = result.ok()
        if EXCLUDED_PATH.search(operation.path):
            continue
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(fuzzed, operation, mode, tally)
    print(f"fuzzed {tally.operations} operations, {tally.cases} cases")
    assert tally.operations >= 30
    assert not tally.findings, "\n\n".join(tally.findings)
