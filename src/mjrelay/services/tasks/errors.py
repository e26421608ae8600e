"""Why a channel did not take a job: the types failover and circuit breakers decide on.

The dispatcher turns whatever an engine raised into one of these (``channel_problem``) and then
branches on the *type*: every ``ChannelProblem`` moves a new job to the next channel, and
``blames_channel`` says whether it counts against the channel's breaker. Refusals that are the
client's own problem (``BannedPrompt``, ``ValidationFailed``...) are not channel problems: they
are answered as they are and never retried elsewhere.

The wire code is declared once per type here (``RelayError.code``) and turned into the
``{code, description}`` envelope by ``api.errors``; the dispatcher never reads it to decide.
The codes are the ones clients saw before these types existed, with one change: a channel
whose circuit is open used to answer 3 ("not found"), which is false, since the channel exists
and will be tried again once the breaker's open period ends. It now answers 23, the code
clients already treat as "busy, retry later", which is exactly the advice for an open circuit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from mjrelay.core.errors import InternalFailure, NotFound, QueueFull, RelayError, ReturnCode


class ChannelProblem(RelayError):
    """A channel could not take a job; a new job may be tried on another channel."""

    # Whether the channel itself is at fault, so its circuit breaker counts a failure. A busy
    # channel answered sensibly, and a declined job or an open circuit never reached it.
    blames_channel: ClassVar[bool] = False

    def __init__(self, channel: str, description: str) -> None:
        super().__init__(description)
        self.channel = channel


class ChannelUnavailable(ChannelProblem):
    """The channel cannot serve right now (not running, not connected, account disabled)."""

    code = ReturnCode.NOT_FOUND
    blames_channel = True


class ChannelFailed(ChannelProblem):
    """The channel failed the submit: an error answer, a crash, or no answer in time."""

    code = ReturnCode.FAILURE
    blames_channel = True


class ChannelBusy(ChannelProblem):
    """The channel is full (its queue or the upstream's); it may take jobs again soon."""

    code = ReturnCode.QUEUE_REJECTED


class ChannelDeclined(ChannelProblem):
    """The engine declined the job before trying it (e.g. a Discord account without Niji)."""

    code = ReturnCode.NOT_FOUND


class CircuitOpen(ChannelProblem):
    """The channel's breaker is open (or its one half-open probe is taken): not tried now."""

    code = ReturnCode.QUEUE_REJECTED


def channel_problem(channel: str, error: RelayError) -> ChannelProblem | None:
    """What an engine's ``RelayError`` means for failover; None for the client's own refusals.

    Engines raise the ``core.errors`` types the client must see; their meaning for routing is
    read from the type: full queue → busy, "not found" → the channel cannot serve, an internal
    failure → the channel failed.
    """
    if isinstance(error, ChannelProblem):
        return error
    if isinstance(error, QueueFull):
        return ChannelBusy(channel, error.description)
    if isinstance(error, NotFound):
        return ChannelUnavailable(channel, error.description)
    if isinstance(error, InternalFailure):
        return ChannelFailed(channel, error.description)
    return None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed try of a new job on one channel, as kept in the task's ``engine_state``."""

    channel: str
    code: int
    error: str
    at: int

    def to_dict(self) -> dict[str, int | str]:
        return {"channel": self.channel, "code": self.code, "error": self.error, "at": self.at}


def declined_description(action: str, problems: Sequence[ChannelProblem]) -> str:
    """Why no channel runs ``action``, naming it: what the client must change is the action."""
    reasons = "; ".join(dict.fromkeys(problem.description for problem in problems))
    return f"action: no channel can run {action} ({reasons})"


class ActionDeclined(RelayError):
    """The channel an action is pinned to declined it (e.g. Extend on a Discord-made video).

    Code 4, not 3: retrying will not help, the request asks for something this relay's
    channels do not do.
    """

    code = ReturnCode.VALIDATION_ERROR

    def __init__(self, action: str, declined: ChannelDeclined) -> None:
        super().__init__(declined_description(action, [declined]))
        self.declined = declined


class NoChannelTookTheJob(RelayError):
    """Every channel of the plan was tried and none took the job.

    Carries the failures of this dispatch (``problems``) and the task's whole attempt history
    (``attempts``, which may include tries from an earlier dispatch). When every channel was
    only temporarily unwilling (full, or its circuit open) the client is told to retry later
    (23); when every channel declined the job (none can run its action: edits on a Discord
    account), the client is told so with code 4 naming the action; otherwise the code is that
    of the last failure, as before.
    """

    def __init__(
        self,
        problems: Sequence[ChannelProblem],
        attempts: Sequence[Attempt],
        action: str = "",
    ) -> None:
        if not problems:
            raise ValueError("NoChannelTookTheJob needs at least one failed attempt")
        self.problems = tuple(problems)
        self.attempts = tuple(attempts)
        last = self.problems[-1]
        if all(isinstance(problem, ChannelBusy | CircuitOpen) for problem in self.problems):
            self.code = ReturnCode.QUEUE_REJECTED
            description = "Queue is full, please try again later"
        elif action and all(isinstance(problem, ChannelDeclined) for problem in self.problems):
            self.code = ReturnCode.VALIDATION_ERROR
            description = declined_description(action, self.problems)
        else:
            self.code = last.code
            description = (
                f"submit failed on every channel ({len(self.attempts)} attempts): "
                f"{last.description}"
            )
        super().__init__(description)
