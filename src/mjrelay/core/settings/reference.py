"""The settings reference for operators, generated from the fields' descriptions.

The descriptions in this package are the operator's documentation; this renders them as one
Markdown page (``docs/settings.md``, kept current by a test) and for ``mjrelay settings``, so
the page can never drift from what the code accepts.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mjrelay.core.settings.root import Settings

HEADER = """# Settings reference

Generated from the descriptions in `src/mjrelay/core/settings/` (`mjrelay settings` prints the
same page). Each key is an environment variable (`MJRELAY_` + the key in capitals, nested keys
joined with `__`) or a key of the TOML file given with `--config` (nested keys in their
`[table]`). Environment variables win over the file, the file over the defaults.
"""


def settings_reference() -> str:
    """The whole reference page as Markdown."""
    lines = [HEADER]
    top: list[tuple[str, FieldInfo]] = []
    nested: list[tuple[str, FieldInfo, type[BaseModel]]] = []
    for name, info in Settings.model_fields.items():
        model = _model_of(info)
        if model is not None and not _is_list(info):
            nested.append((name, info, model))
        else:
            top.append((name, info))
    lines += ["## Top-level keys", "", *_table(top, prefix="MJRELAY_", table=None)]
    for name, info, model in nested:
        lines += [f"## `[{name}]`", "", info.description or "", ""]
        fields = list(model.model_fields.items())
        lines += _table(fields, prefix=f"MJRELAY_{name.upper()}__", table=name)
    return "\n".join(lines).rstrip() + "\n"


def _table(fields: list[tuple[str, FieldInfo]], *, prefix: str, table: str | None) -> list[str]:
    rows = ["| key | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, info in fields:
        env = "(TOML only)" if _is_list_of_models(info) else f"`{prefix}{name.upper()}`"
        key = f"`{name}`" if table is None else f"`{table}.{name}`"
        meaning = (info.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {key} | {env} | {_default(info)} | {meaning} |")
    rows.append("")
    return rows


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if isinstance(value, SecretStr):
        return "(secret, empty)" if not value.get_secret_value() else "(secret)"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, Enum):
        value = value.value
    if value in ("", None, [], {}):
        return "(empty)"
    text = str(value) if isinstance(value, str | Path) else json.dumps(value, default=str)
    return f"`{text}`".replace("|", "\\|")


def _model_of(info: FieldInfo) -> type[BaseModel] | None:
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_list(info: FieldInfo) -> bool:
    return getattr(info.annotation, "__origin__", None) is list


def _is_list_of_models(info: FieldInfo) -> bool:
    if not _is_list(info):
        return False
    (item,) = getattr(info.annotation, "__args__", (None,))
    return isinstance(item, type) and issubclass(item, BaseModel)
