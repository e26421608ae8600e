from __future__ import annotations

from mjrelay.domain.prompts import keycap, numbered_prompts


def test_numbered_prompts_reads_describe_and_shorten_answers() -> None:
    describe = f"{keycap(1)} a cat --ar 1:1\n\n{keycap(2)} a dog --ar 1:1\n\n4\u20e3 bare keycap"
    assert numbered_prompts(describe) == ["a cat --ar 1:1", "a dog --ar 1:1", "bare keycap"]
    shorten = f"## Important tokens\ncat, hat\n\n## Shortened prompts\n{keycap(1)} cat hat"
    assert numbered_prompts(shorten) == ["cat hat"]
    assert numbered_prompts("no numbers here\n1. plain list") == []
