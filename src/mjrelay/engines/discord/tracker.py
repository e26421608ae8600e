"""Which running job a bot message belongs to.

The order is fixed and goes from exact to fuzzy: (1) the interaction nonce the bot echoes on its
first reply, (2) the message id of the job's progress message (and the interaction id), (3) the
job hash of the images (learned from the progress previews), (4) the normalized prompt of the
oldest started job of the same kind (for button jobs, replying to the parent's message first).
Fuzzy steps only consider jobs that have no better key claimed by another message, so two jobs
with the same prompt are told apart by their hashes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mjrelay.domain.task import TaskAction
from mjrelay.engines.base import EngineJob
from mjrelay.engines.discord.messages import BotMessage, DoneKind, image_hash, normalize_prompt


@dataclass
class Inflight:
    """One job sent (or being sent) to Discord."""

    job: EngineJob
    nonces: set[str] = field(default_factory=set)
    prompt_key: str = ""
    progress_id: str = ""
    interaction_ids: set[str] = field(default_factory=set)
    job_hash: str = ""
    parent_message_id: str = ""
    started: float = field(default_factory=time.monotonic)
    percent: int = -1
    deleted_at: float | None = None
    finished: bool = False

    @property
    def task_id(self) -> str:
        return self.job.task_id


_KIND_OF_ACTION: dict[TaskAction, frozenset[DoneKind]] = {
    TaskAction.IMAGINE: frozenset({DoneKind.IMAGINE}),
    TaskAction.REROLL: frozenset({DoneKind.IMAGINE, DoneKind.REMIX}),
    TaskAction.BLEND: frozenset({DoneKind.IMAGINE}),
    TaskAction.UPSCALE: frozenset({DoneKind.UPSCALE}),
    TaskAction.VARIATION: frozenset({DoneKind.VARIATION, DoneKind.REMIX}),
    TaskAction.LOW_VARIATION: frozenset({DoneKind.VARIATION, DoneKind.REMIX}),
    TaskAction.HIGH_VARIATION: frozenset({DoneKind.VARIATION, DoneKind.REMIX}),
    TaskAction.INPAINT: frozenset({DoneKind.VARIATION, DoneKind.IMAGINE, DoneKind.REMIX}),
    TaskAction.ZOOM: frozenset({DoneKind.ZOOM}),
    TaskAction.CUSTOM_ZOOM: frozenset({DoneKind.ZOOM}),
    TaskAction.PAN: frozenset({DoneKind.PAN, DoneKind.REMIX}),
}


def accepts(job: EngineJob, kind: DoneKind) -> bool:
    return kind in _KIND_OF_ACTION.get(job.action, frozenset({kind}))


class Tracker:
    def __init__(self) -> None:
        self._jobs: dict[str, Inflight] = {}
        self._by_nonce: dict[str, Inflight] = {}
        self._by_message: dict[str, Inflight] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def jobs(self) -> list[Inflight]:
        return list(self._jobs.values())

    def get(self, task_id: str) -> Inflight | None:
        return self._jobs.get(task_id)

    def add(self, inflight: Inflight) -> None:
        self._jobs[inflight.task_id] = inflight
        for nonce in inflight.nonces:
            self._by_nonce[nonce] = inflight
        if inflight.progress_id:
            self._by_message[inflight.progress_id] = inflight

    def add_nonce(self, inflight: Inflight, nonce: str) -> None:
        inflight.nonces.add(nonce)
        self._by_nonce[nonce] = inflight

    def by_nonce(self, nonce: str) -> Inflight | None:
        return self._by_nonce.get(nonce) if nonce else None

    def link_interaction(self, nonce: str, interaction_id: str) -> Inflight | None:
        inflight = self.by_nonce(nonce)
        if inflight is not None and interaction_id:
            inflight.interaction_ids.add(interaction_id)
            self._by_message[interaction_id] = inflight
        return inflight

    def set_progress_message(self, inflight: Inflight, message_id: str) -> None:
        if inflight.progress_id and inflight.progress_id != message_id:
            self._by_message.pop(inflight.progress_id, None)
        inflight.progress_id = message_id
        self._by_message[message_id] = inflight

    def remove(self, task_id: str) -> Inflight | None:
        inflight = self._jobs.pop(task_id, None)
        if inflight is None:
            return None
        inflight.finished = True
        for nonce in inflight.nonces:
            if self._by_nonce.get(nonce) is inflight:
                del self._by_nonce[nonce]
        for key in (inflight.progress_id, *inflight.interaction_ids):
            if key and self._by_message.get(key) is inflight:
                del self._by_message[key]
        return inflight

    # ---- matching ----------------------------------------------------------------------------

    def match(self, message: BotMessage, done: DoneKind | None = None) -> Inflight | None:
        """The job ``message`` is about, trying nonce → message id → hash → prompt."""
        found = self.by_nonce(message.nonce)
        if found is not None:
            return found
        for key in (message.id, message.interaction_id):
            if key and key in self._by_message:
                return self._by_message[key]
        if message.event == "MESSAGE_UPDATE" and not message.attachments:
            return None
        job_hash = image_hash(message.image_url)
        if job_hash:
            for inflight in self._jobs.values():
                if inflight.job_hash == job_hash:
                    return inflight
        return self._by_prompt(message, done)

    def _by_prompt(self, message: BotMessage, done: DoneKind | None) -> Inflight | None:
        from mjrelay.engines.discord.messages import prompt_of

        prompt = prompt_of(message.content)
        if prompt is None:
            return None
        key = normalize_prompt(prompt)
        candidates = [
            inflight
            for inflight in self._jobs.values()
            if inflight.prompt_key == key
            and (done is None or accepts(inflight.job, done))
            # A job whose images we already saw belongs to that hash, not to this message.
            and not (inflight.job_hash and image_hash(message.image_url))
        ]
        if not candidates:
            return None
        if message.reference_id:
            replying = [c for c in candidates if c.parent_message_id == message.reference_id]
            if replying:
                candidates = replying
        # A job already showing progress is further along than one still waiting to start.
        candidates.sort(key=lambda c: (c.progress_id == "", c.started))
        return candidates[0]
