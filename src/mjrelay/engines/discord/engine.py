"""The Discord engine: one Midjourney-enabled Discord user account per channel.

Jobs go out as REST interactions; everything the bot answers comes back over the gateway and is
matched to its job (``tracker``), parsed (``messages``) and reported as ``TaskUpdate``s. Every
way a job can end badly ends in a clear task state: error embeds and captchas fail the task with
the bot's words, a deleted progress message or silence past ``timeout_minutes`` fail it, and a
dead token disables the account (reason kept in the channel state, shown by ``channels list``)
and hands its jobs to other accounts through the dispatcher.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
from collections.abc import Awaitable
from typing import Any

from mjrelay.core.background import repeat
from mjrelay.core.errors import InternalFailure, NotFound, RelayError
from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.custom_id import ButtonKind, parse_custom_id
from mjrelay.domain.task import VIDEO_ACTIONS, WEB_ONLY_ACTIONS, TaskAction, TaskStatus
from mjrelay.engines.base import Admission, Engine, EngineJob, TaskUpdate, UpdateSink
from mjrelay.engines.discord import messages as msgs
from mjrelay.engines.discord import payloads
from mjrelay.engines.discord.gateway import GatewayClient, GatewaySession
from mjrelay.engines.discord.messages import BotMessage, Verdict
from mjrelay.engines.discord.options import DiscordOptions
from mjrelay.engines.discord.rest import (
    DiscordAuthError,
    DiscordRequestError,
    DiscordRest,
    RestConfig,
)
from mjrelay.engines.discord.slots import Slots
from mjrelay.engines.discord.tracker import Inflight, Tracker
from mjrelay.engines.kinds import EngineContext
from mjrelay.media.store import BASE_URL_MARKER

log = get_logger("mjrelay.engines.discord")

LEASE_TTL_MS = 30_000
_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_BOT_IDS = frozenset(payloads.APPLICATION_IDS.values())
_MODAL_EVENTS = ("INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE")


class JobError(Exception):
    """A job cannot be sent; the message is the task's failReason."""


class DiscordEngine(Engine):
    def __init__(self, spec: ChannelSpec, options: DiscordOptions, context: EngineContext) -> None:
        self.name = spec.name
        self._options = options
        self._context = context
        self._token = options.user_token.get_secret_value()
        self.rest = DiscordRest(
            RestConfig(
                api_base_url=options.api_base_url,
                token=self._token,
                user_agent=options.user_agent,
                channel_id=options.channel_id,
                upload_allow_hosts=frozenset(options.upload_allow_hosts),
                max_rate_limit_wait=options.max_rate_limit_wait_seconds,
            ),
            transport=context.http_transport,
        )
        self.tracker = Tracker()
        self.slots = Slots(options.core_size, options.queue_size)
        self.gateway: GatewayClient | None = None
        self.disabled_reason = ""
        self._redispatch = context.redispatch
        self._sink: UpdateSink | None = None
        self._state: dict[str, Any] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._gateway_task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._modals: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._leased = False
        self._stopping = False

    # ---- Engine protocol -----------------------------------------------------------------------

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink
        self._state = dict(await self._context.channel_state.get_state(self.name))
        self.disabled_reason = str(self._state.get("disabled_reason") or "")
        if self.disabled_reason and self._state.get("disabled_token") != self._fingerprint():
            # The operator put a new token in: give the account another chance.
            log.info("discord account re-enabled with a new token", channel=self.name)
            self.disabled_reason = ""
            for key in ("disabled_reason", "disabled_at", "disabled_token", "gateway"):
                self._state.pop(key, None)
            await self._context.channel_state.set_state(self.name, self._state)
        if self.disabled_reason:
            log.error("discord account disabled", channel=self.name, reason=self.disabled_reason)
            return
        self.gateway = GatewayClient(
            url=self._options.gateway_url,
            token=self._token,
            user_agent=self._options.user_agent,
            on_dispatch=self._on_dispatch,
            on_dead=self._on_dead,
            save_session=self._save_session,
            session=GatewaySession.from_dict(self._state.get("gateway") or {}),
            compress=self._options.compress,
            backoff_max=self._options.reconnect_max_seconds,
            name=self.name,
        )
        # Jobs sent before a restart are tracked again BEFORE the gateway resumes: the replayed
        # messages must find them (the runner's resume() comes later and fills in the jobs).
        for pending in await self._context.channel_tasks.pending_of(self.name):
            self._adopt(pending.task_id, pending.engine_state)
        self._watchdog = asyncio.create_task(self._watch(), name=f"discord-watch-{self.name}")
        await self._renew_lease()

    async def stop(self) -> None:
        self._stopping = True
        if self.gateway is not None:
            await self.gateway.stop()
        tasks = [t for t in (self._gateway_task, self._watchdog, *self._background) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.gateway is not None and self.gateway.session.session_id:
            await self._save_session(self.gateway.session.to_dict())
        if self._leased:
            with contextlib.suppress(Exception):
                await self._context.channel_state.release_lease(
                    self.name, self._context.instance_id
                )
        await self.rest.close()

    async def submit(self, job: EngineJob) -> Admission:
        reason = self.refusal(job)
        if reason:
            raise NotFound(reason)
        await self._wait_ready()
        admission = self.slots.admit(job)
        if admission.queued:
            log.info(
                "discord job queued",
                task_id=job.task_id,
                channel=self.name,
                ahead=admission.queued_ahead,
            )
            return admission
        try:
            await self._begin(job)
        except DiscordAuthError as exc:
            self._drop(job.task_id)
            await self._on_dead(f"Discord refused the token ({exc})")
            raise NotFound(f"Discord account {self.name} is disabled: token refused") from None
        except (DiscordRequestError, JobError) as exc:
            self._drop(job.task_id)
            raise InternalFailure(f"Discord did not take the job: {exc}") from None
        except BaseException:
            self._drop(job.task_id)
            raise
        return admission

    async def cancel(self, task_id: str) -> bool:
        inflight = self.tracker.remove(task_id)
        queued = any(job.task_id == task_id for job in self.slots.waiting)
        if inflight is None and not queued:
            return False
        self._release(task_id)
        return True

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        """After a restart: keep tracking a job already sent; send again one never sent."""
        if self.disabled_reason:
            return False
        adopted = self.tracker.get(job.task_id) or self._adopt(job.task_id, engine_state)
        if adopted is not None:
            adopted.job = job
            return True
        admission = self.slots.admit(job, force=True)
        if not admission.queued:
            self._spawn(self._begin_later(job))
        return True

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return None  # the seed needs a DM reaction round trip; not offered

    def _adopt(self, task_id: str, engine_state: dict[str, Any]) -> Inflight | None:
        """Track a job sent before a restart (from its engine state); None if never sent."""
        nonce = str(engine_state.get("nonce") or "")
        if not nonce or self.tracker.get(task_id) is not None:
            return self.tracker.get(task_id)
        try:
            action = TaskAction(str(engine_state.get("action") or "IMAGINE"))
        except ValueError:
            action = TaskAction.IMAGINE
        inflight = Inflight(
            job=EngineJob(task_id, action),
            prompt_key=str(engine_state.get("prompt_key") or ""),
            progress_id=str(engine_state.get("progress_message_id") or ""),
            job_hash=str(engine_state.get("job_hash") or ""),
            parent_message_id=str(engine_state.get("parent_message_id") or ""),
        )
        inflight.nonces.update(str(n) for n in engine_state.get("nonces") or [nonce])
        self.tracker.add(inflight)
        self.slots.running.add(task_id)
        return inflight

    # ---- capacity (read by the router) ---------------------------------------------------------

    def accepting(self) -> bool:
        """Whether the router may send new jobs here at all."""
        return not self.disabled_reason and self._leased

    def refusal(self, job: EngineJob) -> str | None:
        """Why this account cannot take ``job`` (checked before it is tried), else None."""
        if self.disabled_reason:
            return f"Discord account {self.name} is disabled: {self.disabled_reason}"
        if job.action in WEB_ONLY_ACTIONS:
            # Edits, retexture and face swap run only on Midjourney's web service.
            return f"the Discord bot cannot run {job.action.value}"
        if job.action in VIDEO_ACTIONS:
            # Until the engine reads the bot's video replies (issue 11, a later step).
            return f"Discord account {self.name} does not relay {job.action.value} yet"
        if not self._options.serves_bot(job.bot_type):
            return f"Discord account {self.name} does not serve {job.bot_type}"
        return None

    def occupancy(self) -> float:
        return self.slots.occupancy()

    # ---- sending jobs --------------------------------------------------------------------------

    async def _wait_ready(self) -> None:
        gateway = self.gateway
        if gateway is None or not self._leased:
            raise NotFound(f"Discord account {self.name} is not connected on this instance")
        if gateway.ready.is_set():
            return
        wait = min(
            self._options.ready_timeout_seconds,
            self._context.defaults.submit_timeout_seconds / 2,
        )
        try:
            await asyncio.wait_for(gateway.ready.wait(), wait)
        except TimeoutError:
            raise NotFound(f"Discord account {self.name} is not connected to Discord") from None

    def _target(self, bot_type: str) -> payloads.Target:
        return payloads.Target(
            guild_id=self._options.guild_id,
            channel_id=self._options.channel_id,
            session_id=self._options.session_id,
            application_id=payloads.APPLICATION_IDS.get(bot_type, payloads.MJ_APPLICATION_ID),
        )

    def _new_inflight(self, job: EngineJob) -> Inflight:
        return Inflight(job=job, prompt_key=msgs.normalize_prompt(job.prompt))

    async def _begin(self, job: EngineJob) -> None:
        """Send ``job``'s interaction(s); the job is tracked before anything is sent."""
        target = self._target(job.bot_type)
        inflight = self._new_inflight(job)
        nonce = payloads.new_nonce()
        inflight.nonces.add(nonce)
        self.tracker.add(inflight)
        custom = parse_custom_id(job.custom_id) if job.custom_id else None
        if job.action == TaskAction.DESCRIBE:
            upload = await self._upload(job.images[0], job.task_id)
            await self.rest.interact(payloads.describe(target, nonce, upload))
        elif job.action == TaskAction.BLEND:
            uploads = [
                await self._upload(key, f"{job.task_id}-{i}") for i, key in enumerate(job.images)
            ]
            await self.rest.interact(payloads.blend(target, nonce, uploads, job.dimensions))
        elif job.action == TaskAction.SHORTEN:
            await self.rest.interact(payloads.shorten(target, nonce, job.prompt))
        elif custom is None:
            prompt = await self._prompt_with_images(job)
            await self.rest.interact(payloads.imagine(target, nonce, prompt))
        else:
            parent = job.parent.engine_state if job.parent else {}
            message_id = str(parent.get("message_id") or "")
            if not message_id:
                raise JobError("the parent task has no Discord message to press the button on")
            inflight.parent_message_id = message_id
            flags = int(parent.get("flags") or 0)
            modal = custom.needs_modal or job.enable_remix
            waiter = self._expect_modal(nonce) if modal else None
            await self.rest.interact(
                payloads.button(target, nonce, message_id, flags, job.custom_id)
            )
            if waiter is not None:
                await self._submit_modal(job, inflight, target, nonce, waiter, custom.kind)
        await self._emit(
            TaskUpdate(
                job.task_id,
                TaskStatus.SUBMITTED,
                engine_state={
                    "nonce": nonce,
                    "nonces": sorted(inflight.nonces),
                    "account": self.name,
                    "action": job.action.value,
                    "prompt_key": inflight.prompt_key,
                    "parent_message_id": inflight.parent_message_id,
                },
            )
        )

    def _expect_modal(self, nonce: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._modals[nonce] = future
        return future

    async def _submit_modal(
        self,
        job: EngineJob,
        inflight: Inflight,
        target: payloads.Target,
        nonce: str,
        waiter: asyncio.Future[dict[str, Any]],
        kind: ButtonKind,
    ) -> None:
        try:
            opened = await asyncio.wait_for(waiter, self._options.modal_timeout_seconds)
        except TimeoutError:
            raise JobError(
                "the Midjourney bot did not open its form (is remix mode on for this account?)"
            ) from None
        finally:
            self._modals.pop(nonce, None)
        if opened.get("started"):
            log.info("button answered without a form", task_id=job.task_id, channel=self.name)
            return
        if kind == ButtonKind.INPAINT:
            if not job.mask:
                raise JobError("vary region needs a mask")
            mask = await self._context.media.read(job.mask)
            await self.rest.post_json(
                self._options.inpaint_url,
                {
                    "customId": str(opened.get("custom_id") or ""),
                    "mask": base64.b64encode(mask).decode(),
                    "prompt": job.prompt,
                    "full_prompt": None,
                    "userId": "0",
                    "username": "0",
                },
            )
            return
        field_id = _text_input_id(opened.get("components") or [])
        if not field_id or not opened.get("id") or not opened.get("custom_id"):
            raise JobError("the Midjourney bot opened a form without a text field")
        submit_nonce = payloads.new_nonce()
        self.tracker.add_nonce(inflight, submit_nonce)
        await self.rest.interact(
            payloads.modal_submit(
                target,
                submit_nonce,
                str(opened["id"]),
                str(opened["custom_id"]),
                field_id,
                job.prompt,
            )
        )

    async def _upload(self, key: str, name: str) -> payloads.Upload:
        data = await self._context.media.read(key)
        ext = key.rsplit(".", 1)[-1].lower()
        return await self.rest.upload(f"{name}.{ext}", data, _MIME.get(ext, "image/png"))

    async def _prompt_with_images(self, job: EngineJob) -> str:
        """Our own image URLs at the start of the prompt become Discord CDN URLs."""
        if not job.images:
            return job.prompt
        words = job.prompt.split(" ")
        while words and words[0].startswith(BASE_URL_MARKER):
            words.pop(0)
        urls = []
        for i, key in enumerate(job.images):
            upload = await self._upload(key, f"{job.task_id}-{i}")
            urls.append(await self.rest.post_image_message(upload))
        return " ".join([*urls, *words]).strip()

    async def _begin_later(self, job: EngineJob) -> None:
        """Start a job that waited in the queue; a refusal now fails the task."""
        try:
            await self._begin(job)
        except DiscordAuthError as exc:
            self._drop(job.task_id)
            await self._fail(job.task_id, f"Discord refused the token ({exc})")
            await self._on_dead(f"Discord refused the token ({exc})")
        except (DiscordRequestError, JobError) as exc:
            await self._finish_failure(job.task_id, f"Discord did not take the job: {exc}")
        except Exception as exc:
            log.exception("discord job start failed", task_id=job.task_id)
            await self._finish_failure(job.task_id, f"Discord engine error: {type(exc).__name__}")

    # ---- gateway events ------------------------------------------------------------------------

    async def _on_dispatch(self, event: str, data: dict[str, Any]) -> None:
        try:
            await self._route_event(event, data)
        except RelayError:
            raise
        except Exception:
            log.exception("discord event handling failed", channel=self.name, event_type=event)

    async def _route_event(self, event: str, data: dict[str, Any]) -> None:
        nonce = str(data.get("nonce") or "")
        if event in ("INTERACTION_CREATE", "INTERACTION_SUCCESS"):
            self.tracker.link_interaction(nonce, str(data.get("id") or ""))
        elif event in _MODAL_EVENTS:
            title = str(data.get("title") or "")
            if title.lower() in ("action required to continue", "action needed to continue"):
                inflight = self.tracker.by_nonce(nonce)
                if inflight is not None:
                    await self._finish_failure(
                        inflight.task_id,
                        f"Discord needs a human to continue (captcha): {title}",
                    )
                return
            waiter = self._modals.get(nonce)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        elif event == "INTERACTION_FAILURE":
            inflight = self.tracker.by_nonce(nonce)
            if inflight is not None:
                code = data.get("reason_code")
                await self._finish_failure(
                    inflight.task_id, f"Discord rejected the interaction (reason code {code})"
                )
        elif event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
            if str(data.get("channel_id") or "") != self._options.channel_id:
                return
            if event == "MESSAGE_DELETE":
                self._on_delete(str(data.get("id") or ""))
                return
            author = data.get("author") or {}
            if event == "MESSAGE_CREATE" and str(author.get("id") or "") not in _BOT_IDS:
                return
            await self._on_message(BotMessage.parse(event, data))

    async def _on_message(self, message: BotMessage) -> None:
        waiter = self._modals.get(message.nonce) if message.nonce else None
        if waiter is not None and not waiter.done():
            # The bot answered the button directly (e.g. remix mode is off): no form to fill.
            waiter.set_result({"started": True})
        notice = msgs.notice_of(message)
        if notice is not None:
            await self._on_notice(message, notice)
            return
        result = msgs.embed_result(message)
        if result is not None:
            inflight = self.tracker.match(message)
            if inflight is not None and inflight.job.action in (
                TaskAction.DESCRIBE,
                TaskAction.SHORTEN,
            ):
                await self._finish_text(inflight, message, *result)
            return
        percent = msgs.percent_of(message.content)
        waiting = msgs.is_waiting(message.content)
        if message.attachments and message.components and percent is None and not waiting:
            kind = msgs.done_kind(message.content)
            inflight = self.tracker.match(message, kind)
            if inflight is not None:
                await self._finish_image(inflight, message)
            return
        inflight = self.tracker.match(message)
        if inflight is None or msgs.is_stopped(message.content):
            return
        await self._on_progress(inflight, message, percent)

    async def _on_notice(self, message: BotMessage, notice: msgs.EmbedNotice) -> None:
        inflight = self.tracker.match(message)
        if inflight is None:
            log.info("discord notice for no known job", channel=self.name, title=notice.title)
            return
        if notice.verdict == Verdict.WARNING:
            log.warning("midjourney warning", task_id=inflight.task_id, title=notice.title)
        elif notice.verdict == Verdict.QUEUED:
            # Midjourney's own queue: the job will start later, not an error.
            self.tracker.set_progress_message(inflight, message.id)
            log.info("midjourney queued the job", task_id=inflight.task_id)
        elif notice.verdict == Verdict.CAPTCHA:
            log.error("discord account needs a human", channel=self.name, title=notice.title)
            await self._finish_failure(
                inflight.task_id, f"Discord needs a human to continue (captcha): {notice.reason}"
            )
        else:
            log.info(
                "midjourney refused the job",
                task_id=inflight.task_id,
                title=notice.title,
                banned=msgs.is_banned(notice),
            )
            await self._finish_failure(inflight.task_id, notice.reason)

    async def _on_progress(
        self, inflight: Inflight, message: BotMessage, percent: int | None
    ) -> None:
        state: dict[str, Any] = {}
        if (
            message.id
            and message.id != inflight.progress_id
            and (message.nonce or message.event == "MESSAGE_CREATE")
        ):
            self.tracker.set_progress_message(inflight, message.id)
            state["progress_message_id"] = message.id
        preview = message.image_url
        job_hash = msgs.image_hash(preview)
        if job_hash and job_hash != inflight.job_hash:
            inflight.job_hash = job_hash
            state["job_hash"] = job_hash
        value = 0 if percent is None else min(percent, 99)
        if value < inflight.percent:
            return
        inflight.percent = value
        final_prompt = msgs.prompt_of(message.content)
        await self._emit(
            TaskUpdate(
                inflight.task_id,
                TaskStatus.IN_PROGRESS,
                progress=f"{value}%",
                image_url=preview or None,
                properties={"finalPrompt": final_prompt} if final_prompt else {},
                engine_state=state,
            )
        )

    def _on_delete(self, message_id: str) -> None:
        for inflight in self.tracker.jobs():
            if inflight.progress_id == message_id and inflight.deleted_at is None:
                inflight.deleted_at = time.monotonic()

    # ---- finishing -----------------------------------------------------------------------------

    def _result_state(self, message: BotMessage, job_hash: str | None) -> dict[str, Any]:
        return {
            "message_id": message.id,
            "message_hash": job_hash or "",
            "flags": message.flags,
            "account": self.name,
        }

    async def _finish_image(self, inflight: Inflight, message: BotMessage) -> None:
        job_hash = msgs.image_hash(message.image_url)
        final_prompt = msgs.prompt_of(message.content) or inflight.job.prompt
        update = TaskUpdate(
            inflight.task_id,
            TaskStatus.SUCCESS,
            image_url=message.image_url,
            buttons=msgs.buttons_of(message.components),
            properties={
                "finalPrompt": final_prompt,
                "messageId": message.id,
                "messageHash": job_hash or "",
                "flags": message.flags,
            },
            engine_state=self._result_state(message, job_hash),
        )
        await self._finish(inflight.task_id, update)

    async def _finish_text(
        self, inflight: Inflight, message: BotMessage, description: str, image_url: str
    ) -> None:
        lines = msgs.numbered_lines(description)
        update = TaskUpdate(
            inflight.task_id,
            TaskStatus.SUCCESS,
            image_url=image_url or None,
            buttons=msgs.buttons_of(message.components),
            prompt=description,
            prompt_en=description,
            properties={"finalPrompt": description, "messageId": message.id},
            engine_state={**self._result_state(message, None), "prompts": lines},
        )
        await self._finish(inflight.task_id, update)

    async def _finish_failure(self, task_id: str, reason: str) -> None:
        await self._finish(task_id, TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason=reason))

    async def _finish(self, task_id: str, update: TaskUpdate) -> None:
        self.tracker.remove(task_id)
        await self._emit(update)
        log.info(
            "discord job finished", task_id=task_id, channel=self.name, status=update.status.value
        )
        self._release(task_id)

    def _drop(self, task_id: str) -> None:
        self.tracker.remove(task_id)
        self._release(task_id)

    def _release(self, task_id: str) -> None:
        for job in self.slots.release(task_id):
            self._spawn(self._begin_later(job))

    async def _fail(self, task_id: str, reason: str) -> None:
        await self._emit(TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason=reason))

    # ---- account health ------------------------------------------------------------------------

    async def _on_dead(self, reason: str) -> None:
        """The token is dead: disable the account visibly and move its jobs elsewhere."""
        if self.disabled_reason:
            return
        self.disabled_reason = reason
        self._state = {
            **self._state,
            "disabled_reason": reason,
            "disabled_at": now_ms(),
            "disabled_token": self._fingerprint(),
        }
        await self._context.channel_state.set_state(self.name, self._state)
        log.error("discord account disabled", channel=self.name, reason=reason)
        jobs = [inflight.job for inflight in self.tracker.jobs()] + self.slots.drain()
        for job in jobs:
            self.tracker.remove(job.task_id)
        self.slots.running.clear()
        for job in jobs:
            await self._hand_over(job, reason)

    async def _hand_over(self, job: EngineJob, reason: str) -> None:
        why = f"Discord account {self.name} was disabled: {reason}"
        if job.parent is None and self._redispatch is not None:
            try:
                await self._redispatch(job.task_id, self.name, why)
                return
            except Exception:
                log.exception("redispatch failed", task_id=job.task_id)
        await self._fail(job.task_id, why)

    async def _save_session(self, session: dict[str, Any]) -> None:
        self._state = {**self._state, "gateway": session}
        await self._context.channel_state.set_state(self.name, self._state)

    async def _renew_lease(self) -> None:
        """Hold the channel lease: one gateway connection per account across instances."""
        if self.disabled_reason or self.gateway is None:
            return
        got = await self._context.channel_state.try_lease(
            self.name, self._context.instance_id, LEASE_TTL_MS
        )
        if got and self._gateway_task is None:
            self._gateway_task = asyncio.create_task(
                self.gateway.run(), name=f"discord-gateway-{self.name}"
            )
            log.info("discord account connecting", channel=self.name)
        self._leased = got

    async def _watch(self) -> None:
        """Timeouts, deleted progress messages and the lease, checked every half second."""
        timeout = self._options.timeout_minutes * 60
        grace = self._options.deleted_grace_seconds
        last_lease = time.monotonic()

        async def check() -> None:
            nonlocal last_lease
            now = time.monotonic()
            for inflight in self.tracker.jobs():
                if now - inflight.started > timeout:
                    await self._finish_failure(
                        inflight.task_id,
                        f"timed out: no result from Midjourney within "
                        f"{self._options.timeout_minutes:g} minutes",
                    )
                elif inflight.deleted_at is not None and now - inflight.deleted_at > grace:
                    await self._finish_failure(
                        inflight.task_id,
                        "the Midjourney bot deleted the job's message without a result",
                    )
            if now - last_lease > LEASE_TTL_MS / 3000:
                last_lease = now
                try:
                    await self._renew_lease()
                except Exception:
                    log.exception("discord lease renewal failed", channel=self.name)

        await repeat("discord watchdog", 0.5, check, log=log.bind(channel=self.name))

    def _fingerprint(self) -> str:
        """Identifies the token without revealing it (a short hash, stored with the reason)."""
        return hashlib.sha256(self._token.encode()).hexdigest()[:16]

    # ---- plumbing ------------------------------------------------------------------------------

    async def _emit(self, update: TaskUpdate) -> None:
        if self._sink is not None:
            await self._sink(update)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _text_input_id(rows: list[Any]) -> str:
    """The custom_id of the first text input of a modal (taken from the modal, not guessed)."""
    for row in rows:
        for item in (row.get("components") or []) if isinstance(row, dict) else []:
            if isinstance(item, dict) and item.get("type") == 4 and item.get("custom_id"):
                return str(item["custom_id"])
    return ""
