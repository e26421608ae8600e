"""Reading the numbered prompts Midjourney answers describe and shorten with."""

from __future__ import annotations

import re

_KEYCAP_LINE = re.compile(
    r"^\s*([0-9])\N{VARIATION SELECTOR-16}?\N{COMBINING ENCLOSING KEYCAP}\s*(.+)$"
)


def keycap(number: int) -> str:
    """``1`` → ``1️⃣``, the way Midjourney numbers its suggestions."""
    return f"{number}\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}"


def numbered_prompts(text: str) -> list[str]:
    """The prompts of lines like ``1️⃣ a cat --ar 1:1``, in order, without their numbers."""
    found: list[str] = []
    for line in text.splitlines():
        match = _KEYCAP_LINE.match(line)
        if match:
            found.append(match.group(2).strip())
    return found
