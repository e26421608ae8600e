"""The SDK stands alone: ``mjrelay.client`` imports and works without any server module.

A fresh interpreter refuses every ``mjrelay`` module outside ``mjrelay.client`` (as if only the
SDK were installed), imports every SDK module, reads a task, and reports which ``mjrelay``
modules ended up loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mjrelay.client

SCRIPT = r"""
import importlib, importlib.abc, json, pkgutil, sys

class ServerModulesAbsent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        inside_sdk = name == "mjrelay.client" or name.startswith("mjrelay.client.")
        if name.startswith("mjrelay.") and not inside_sdk:
            raise ImportError(f"server module {name} is not installed")
        return None

sys.meta_path.insert(0, ServerModulesAbsent())
import mjrelay.client
for module in pkgutil.walk_packages(mjrelay.client.__path__, "mjrelay.client."):
    importlib.import_module(module.name)
task = mjrelay.client.Task.model_validate({"id": "1", "action": "IMAGINE", "status": "SUCCESS"})
print(json.dumps({
    "loaded": sorted(m for m in sys.modules if m == "mjrelay" or m.startswith("mjrelay.")),
    "final": task.status.is_final,
}))
"""


def test_the_sdk_imports_and_reads_tasks_without_the_server() -> None:
    source_root = Path(mjrelay.client.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    outside_sdk = [
        name
        for name in report["loaded"]
        if name != "mjrelay" and not name.startswith("mjrelay.client")
    ]
    assert outside_sdk == []
    assert "mjrelay.client.cli" in report["loaded"] and "mjrelay.client.models" in report["loaded"]
    assert report["final"] is True
