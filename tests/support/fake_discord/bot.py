"""The fake Midjourney bot: how it answers each interaction, in the documented message shapes.

Imagine-like jobs: INTERACTION_CREATE/SUCCESS → "(Waiting to start)" message with the nonce →
MESSAGE_UPDATEs with a percentage and a ``<hash>_grid_0.webp`` preview → a NEW message with the
PNG attachment and the button rows (all custom_ids carry the job hash) → MESSAGE_DELETE of the
progress message. Button jobs reply to the parent message. Describe answers by editing its first
message into an embed; shorten answers at once with an embed. Words in the prompt trigger errors:
``banned`` (Banned prompt detected), ``--badparam`` (Invalid parameter), ``captcha`` (Action
needed to continue), ``queuefull`` (Queue full), ``jobqueued`` (a Job queued notice first),
``vanish`` (progress message deleted, no result) and ``silent`` (no answer at all).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

MJ_BOT = "936929561302675456"
NIJI_BOT = "1022952195194359889"
KEYCAP = "\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}"
RED = 16711680
_ids = itertools.count(1)


def snowflake() -> str:
    return str(((int(time.time() * 1000) - 1_420_070_400_000) << 22) | (next(_ids) & 0x3FFFFF))


def button(custom_id: str, label: str = "", emoji: str = "", style: int = 2) -> dict[str, Any]:
    item: dict[str, Any] = {"type": 2, "style": style, "custom_id": custom_id}
    if label:
        item["label"] = label
    if emoji:
        item["emoji"] = {"name": emoji}
    return item


def grid_rows(job_hash: str) -> list[dict[str, Any]]:
    ups = [button(f"MJ::JOB::upsample::{i}::{job_hash}", f"U{i}") for i in range(1, 5)]
    ups.append(button(f"MJ::JOB::reroll::0::{job_hash}::SOLO", emoji="🔄"))
    vs = [button(f"MJ::JOB::variation::{i}::{job_hash}", f"V{i}") for i in range(1, 5)]
    return [{"type": 1, "components": ups}, {"type": 1, "components": vs}]


def upscale_rows(job_hash: str) -> list[dict[str, Any]]:
    h = job_hash
    return [
        {
            "type": 1,
            "components": [
                button(f"MJ::JOB::upsample_v6_2x_subtle::1::{h}::SOLO", "Upscale (Subtle)"),
                button(f"MJ::JOB::upsample_v6_2x_creative::1::{h}::SOLO", "Upscale (Creative)"),
            ],
        },
        {
            "type": 1,
            "components": [
                button(f"MJ::JOB::low_variation::1::{h}::SOLO", "Vary (Subtle)", "🪄"),
                button(f"MJ::JOB::high_variation::1::{h}::SOLO", "Vary (Strong)", "🪄"),
                button(f"MJ::Inpaint::1::{h}::SOLO", "Vary (Region)", "🖌️"),
            ],
        },
        {
            "type": 1,
            "components": [
                button(f"MJ::Outpaint::50::1::{h}::SOLO", "Zoom Out 2x", "🔍"),
                button(f"MJ::Outpaint::75::1::{h}::SOLO", "Zoom Out 1.5x", "🔍"),
                button(f"MJ::CustomZoom::{h}", "Custom Zoom", "🔍"),
            ],
        },
        {
            "type": 1,
            "components": [
                button(f"MJ::JOB::pan_{d}::1::{h}::SOLO", emoji=e)
                for d, e in (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️"))
            ],
        },
        {
            "type": 1,
            "components": [
                {
                    "type": 2,
                    "style": 5,
                    "label": "Web",
                    "url": f"https://www.midjourney.com/jobs/{h}",
                }
            ],
        },
    ]


@dataclass
class BotControls:
    progress_steps: int = 2
    step_delay: float = 0.01
    done_with_nonce: bool = False
    remix: bool = False
    # Jobs wait here (after their first progress update) until the test opens the gate.
    gate: asyncio.Event | None = None
    # Send op 7 (reconnect) right after the first progress update of the next job.
    reconnect_mid_job: bool = False
    # Send op 9 (invalid session) right after the first progress update of the next job.
    invalidate_mid_job: bool = False
    # Leave out previews (so only nonce/message id/prompt can match).
    previews: bool = True
    # The first job of the run is five times slower (so later jobs finish before it).
    slow_first: bool = False
    started: int = 0


@dataclass
class Modal:
    kind: str
    parent: dict[str, Any]
    custom_id: str
    field_id: str
    extra: dict[str, Any] = field(default_factory=dict)


class FakeBot:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.controls = BotControls()
        self.messages: dict[str, dict[str, Any]] = {}
        self.prompts: dict[str, str] = {}  # message id -> the prompt of its job
        self.hash_by_nonce: dict[str, str] = {}  # interaction nonce -> the job hash it made
        self.modals: dict[str, Modal] = {}
        self.iframes: dict[str, Modal] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.running = 0
        self.max_running = 0

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- messages -------------------------------------------------------------------------

    def _message(self, account: Any, app: str, **fields: Any) -> dict[str, Any]:
        message = {
            "id": snowflake(),
            "type": 0,
            "channel_id": account.channel_id,
            "guild_id": account.guild_id,
            "flags": 0,
            "author": {
                "id": app,
                "username": "Midjourney Bot",
                "bot": True,
                "discriminator": "9282",
            },
            "application_id": app,
            "content": "",
            "embeds": [],
            "components": [],
            "attachments": [],
            "mentions": [{"id": account.user_id}],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
        message.update(fields)
        return message

    async def _send(self, account: Any, event: str, message: dict[str, Any]) -> None:
        self.messages[message["id"]] = message
        await self.fake.gateway.broadcast(account.token, event, message)

    async def _delete(self, account: Any, message: dict[str, Any]) -> None:
        self.messages.pop(message["id"], None)
        await self.fake.gateway.broadcast(
            account.token,
            "MESSAGE_DELETE",
            {"id": message["id"], "channel_id": account.channel_id, "guild_id": account.guild_id},
        )

    def _attachment(self, account: Any, name: str) -> dict[str, Any]:
        att_id = snowflake()
        url = f"{self.fake.base_url}/attachments/{account.channel_id}/{att_id}/{name}"
        return {
            "id": att_id,
            "filename": name,
            "url": url + "?ex=65f1&is=65de&hm=abc123&",
            "proxy_url": url,
            "width": 64,
            "height": 64,
            "size": len(self.fake.png),
            "content_type": "image/png" if name.endswith(".png") else "image/webp",
        }

    # ---- entry points ---------------------------------------------------------------------

    async def interaction(self, account: Any, payload: dict[str, Any]) -> tuple[int, Any]:
        """Answer POST /interactions: (status, body)."""
        kind = payload.get("type")
        data = payload.get("data") or {}
        nonce = str(payload.get("nonce") or "")
        app = str(payload.get("application_id") or MJ_BOT)
        interaction_id = snowflake()
        if kind == 2:
            name = data.get("name")
            options = {o.get("name"): o.get("value") for o in data.get("options") or []}
            if name in ("imagine", "shorten"):
                prompt = str(options.get("prompt") or "")
                if name == "shorten":
                    self.spawn(self._shorten(account, app, nonce, interaction_id, prompt))
                else:
                    self.spawn(self._imagine(account, app, nonce, interaction_id, prompt))
                return 204, None
            if name in ("describe", "blend"):
                files = []
                for att in data.get("attachments") or []:
                    stored = self.fake.uploads.get(str(att.get("uploaded_filename")))
                    if stored is None:
                        return 400, {"code": 50035, "message": "Invalid Form Body (attachment)"}
                    files.append(str(att.get("uploaded_filename")))
                if name == "describe":
                    self.spawn(self._describe(account, app, nonce, interaction_id, files[0]))
                else:
                    if not 2 <= len(files) <= 5:
                        return 400, {"code": 50035, "message": "Invalid Form Body"}
                    links = " ".join(f"<https://s.mj.run/{secrets.token_hex(5)}>" for _ in files)
                    prompt = f"{links} {options.get('dimensions') or '--ar 1:1'}"
                    self.spawn(
                        self._imagine(account, app, nonce, interaction_id, prompt, name="blend")
                    )
                return 204, None
            return 400, {"code": 50035, "message": f"unknown command {name}"}
        if kind == 3:
            parent = self.messages.get(str(payload.get("message_id") or ""))
            if parent is None:
                return 404, {"code": 10008, "message": "Unknown Message"}
            custom_id = str(data.get("custom_id") or "")
            known = [
                item.get("custom_id")
                for row in parent.get("components") or []
                for item in row.get("components") or []
            ]
            if custom_id not in known:
                return 400, {"code": 50035, "message": "Invalid Form Body (custom_id)"}
            if payload.get("message_flags") != parent.get("flags", 0):
                return 400, {"code": 50035, "message": "message_flags do not match"}
            self.spawn(self._press(account, app, nonce, interaction_id, parent, custom_id))
            return 204, None
        if kind == 5:
            modal = self.modals.pop(str(data.get("id") or ""), None)
            if modal is None or modal.custom_id != data.get("custom_id"):
                return 400, {"code": 50035, "message": "Unknown modal"}
            field_ = data["components"][0]["components"][0]
            if field_.get("custom_id") != modal.field_id:
                return 400, {"code": 50035, "message": "Unknown text input"}
            prompt = str(field_.get("value") or "")
            self.spawn(self._after_modal(account, app, nonce, interaction_id, modal, prompt))
            return 204, None
        return 400, {"code": 50035, "message": "unknown interaction type"}

    async def inpaint(self, payload: dict[str, Any]) -> tuple[int, Any]:
        modal = self.iframes.pop(str(payload.get("customId") or ""), None)
        if modal is None or not payload.get("mask"):
            return 400, {"error": "unknown job or missing mask"}
        account = modal.extra["account"]
        prompt = str(payload.get("prompt") or self.prompts.get(modal.parent["id"], ""))
        self.spawn(
            self._imagine(
                account,
                modal.extra["app"],
                "",
                snowflake(),
                prompt,
                name="inpaint",
                reply_to=modal.parent["id"],
                done_words="Variations (Region) by",
            )
        )
        return 200, {"success": True}

    # ---- jobs -----------------------------------------------------------------------------

    async def _ack(self, account: Any, nonce: str, interaction_id: str) -> None:
        if nonce:
            for event in ("INTERACTION_CREATE", "INTERACTION_SUCCESS"):
                await self.fake.gateway.broadcast(
                    account.token, event, {"id": interaction_id, "nonce": nonce}
                )

    def _meta(self, account: Any, interaction_id: str, name: str) -> dict[str, Any]:
        meta = {"id": interaction_id, "type": 2, "name": name, "user": {"id": account.user_id}}
        return {"interaction": meta, "interaction_metadata": meta}

    async def _error(
        self, account: Any, app: str, nonce: str, iid: str, title: str, text: str, colour: int
    ) -> None:
        await self._send(
            account,
            "MESSAGE_CREATE",
            self._message(
                account,
                app,
                nonce=nonce,
                type=20,
                embeds=[
                    {
                        "type": "rich",
                        "title": title,
                        "description": text,
                        "color": colour,
                        "footer": {"text": "/imagine"},
                    }
                ],
                **self._meta(account, iid, "imagine"),
            ),
        )

    async def _imagine(
        self,
        account: Any,
        app: str,
        nonce: str,
        iid: str,
        prompt: str,
        *,
        name: str = "imagine",
        reply_to: str = "",
        done_words: str = "",
        done_rows: str = "grid",
    ) -> None:
        await self._ack(account, nonce, iid)
        mention = f"<@{account.user_id}>"
        lowered = prompt.lower()
        if "silent" in lowered:
            return
        errors = (
            (
                "banned",
                "Banned prompt detected",
                "Sorry! Our AI moderators feel your prompt might be against our "
                "community standards.",
            ),
            ("--badparam", "Invalid parameter", "Unrecognized parameter(s): `--badparam`"),
            ("queuefull", "Queue full", "You have too many jobs queued, please wait."),
            ("captcha", "Action needed to continue", "Please verify you're human to continue."),
        )
        for word, title, text in errors:
            if word in lowered:
                await self._error(account, app, nonce, iid, title, text, RED)
                return
        first_nonce = nonce
        if "jobqueued" in lowered:
            await self._error(
                account, app, nonce, iid, "Job queued", "Your job will start shortly.", 0x5865F2
            )
            first_nonce = ""
        job_hash = str(uuid.uuid4())
        if nonce:
            self.hash_by_nonce[nonce] = job_hash
        reference = {"message_reference": {"message_id": reply_to}} if reply_to else {}
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.controls.started += 1
        delay = self.controls.step_delay
        if self.controls.slow_first and self.controls.started == 1:
            delay *= 5
        try:
            progress = self._message(
                account,
                app,
                nonce=first_nonce,
                content=f"**{prompt}** - {mention} (Waiting to start)",
                **self._meta(account, iid, name),
                **reference,
            )
            await self._send(account, "MESSAGE_CREATE", progress)
            for step in range(1, self.controls.progress_steps + 1):
                await asyncio.sleep(delay)
                percent = round(100 * step / (self.controls.progress_steps + 1))
                updated = {
                    **progress,
                    "content": f"**{prompt}** - {mention} ({percent}%) (fast)",
                    "attachments": [self._attachment(account, f"{job_hash}_grid_0.webp")]
                    if self.controls.previews
                    else [],
                }
                await self._send(account, "MESSAGE_UPDATE", updated)
                if step == 1:
                    await self._mid_job(account)
            if "vanish" in lowered:
                await self._delete(account, progress)
                return
            await asyncio.sleep(self.controls.step_delay)
            words = "_".join(re.findall(r"[a-z0-9]+", lowered)[:3]) or "image"
            tail = f"{done_words} {mention} (fast)" if done_words else f"{mention} (fast)"
            rows = upscale_rows(job_hash) if done_rows == "upscale" else grid_rows(job_hash)
            if done_words.startswith("Image #"):
                tail = f"{done_words} {mention}"
            done = self._message(
                account,
                app,
                content=f"**{prompt}** - {tail}",
                attachments=[
                    self._attachment(account, f"{account.username}_{words}_{job_hash}.png")
                ],
                components=rows,
                **({"nonce": nonce} if self.controls.done_with_nonce and nonce else {}),
                **reference,
            )
            self.prompts[done["id"]] = prompt
            await self._send(account, "MESSAGE_CREATE", done)
            await self._delete(account, progress)
        finally:
            self.running -= 1

    async def _mid_job(self, account: Any) -> None:
        if self.controls.reconnect_mid_job:
            self.controls.reconnect_mid_job = False
            await self.fake.gateway.request_reconnect(account.token)
        if self.controls.invalidate_mid_job:
            self.controls.invalidate_mid_job = False
            await self.fake.gateway.invalidate(account.token)
        if self.controls.gate is not None:
            await self.controls.gate.wait()

    async def _describe(self, account: Any, app: str, nonce: str, iid: str, upload: str) -> None:
        await self._ack(account, nonce, iid)
        first = self._message(account, app, nonce=nonce, **self._meta(account, iid, "describe"))
        await self._send(account, "MESSAGE_CREATE", first)
        await asyncio.sleep(self.controls.step_delay)
        lines = [
            "a red square on a white background, minimalism --ar 1:1",
            "flat colour field, bauhaus poster --ar 1:1",
            "crimson block, geometric abstraction --ar 1:1",
            "simple red shape, digital art --ar 1:1",
        ]
        text = "\n\n".join(f"{i}{KEYCAP} {line}" for i, line in enumerate(lines, start=1))
        image = f"{self.fake.base_url}/uploads/{upload}"
        rows = [
            {
                "type": 1,
                "components": [button(f"MJ::Job::PicReader::{i}", str(i)) for i in range(1, 5)],
            },
            {
                "type": 1,
                "components": [
                    button("MJ::Picread::Retry", emoji="🔄"),
                    button("MJ::Job::PicReader::all", "Imagine all"),
                ],
            },
        ]
        updated = {
            **first,
            "embeds": [{"type": "rich", "description": text, "image": {"url": image}, "color": 0}],
            "components": rows,
        }
        await self._send(account, "MESSAGE_UPDATE", updated)

    async def _shorten(self, account: Any, app: str, nonce: str, iid: str, prompt: str) -> None:
        await self._ack(account, nonce, iid)
        words = prompt.split()
        shortened = [" ".join(words[: max(1, len(words) - i)]) for i in range(5)]
        text = "## Important tokens\n" + ", ".join(words[:3]) + "\n\n## Shortened prompts\n"
        text += "\n\n".join(f"{i}{KEYCAP} {line}" for i, line in enumerate(shortened, start=1))
        rows = [
            {
                "type": 1,
                "components": [
                    button(f"MJ::Job::PromptAnalyzer::{i}", str(i)) for i in range(1, 6)
                ],
            }
        ]
        await self._send(
            account,
            "MESSAGE_CREATE",
            self._message(
                account,
                app,
                nonce=nonce,
                embeds=[
                    {
                        "type": "rich",
                        "description": text,
                        "footer": {
                            "text": "Click on a button to imagine one of the shortened prompts"
                        },
                    }
                ],
                components=rows,
                **self._meta(account, iid, "shorten"),
            ),
        )

    async def _open_modal(
        self, account: Any, nonce: str, iid: str, modal: Modal, title: str, value: str
    ) -> None:
        self.modals[iid] = modal
        await self.fake.gateway.broadcast(
            account.token,
            "INTERACTION_MODAL_CREATE",
            {
                "id": iid,
                "nonce": nonce,
                "channel_id": account.channel_id,
                "custom_id": modal.custom_id,
                "title": title,
                "application": {"id": MJ_BOT},
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {
                                "type": 4,
                                "custom_id": modal.field_id,
                                "style": 2,
                                "label": "Prompt",
                                "value": value,
                            }
                        ],
                    }
                ],
            },
        )

    async def _press(
        self, account: Any, app: str, nonce: str, iid: str, parent: dict[str, Any], custom_id: str
    ) -> None:
        parts = custom_id.split("::")
        prompt = self.prompts.get(parent["id"], "")
        job_hash = parts[-2] if parts[-1] == "SOLO" else parts[-1]
        # prefix -> (modal kind, modal custom_id, text field id, title, pre-filled value)
        forms = {
            "MJ::CustomZoom::": (
                "zoom",
                f"MJ::OutpaintCustomZoomModal::{job_hash}",
                "MJ::OutpaintCustomZoomModal::prompt",
                "Zoom Out",
                f"{prompt} --zoom 2",
            ),
            "MJ::Job::PicReader::": (
                "imagine",
                f"MJ::Picreader::Modal::{parts[-1]}",
                "MJ::Picreader::Modal::PromptField",
                "Imagine This!",
                "",
            ),
            "MJ::Job::PromptAnalyzer::": (
                "imagine",
                f"MJ::ImagineModal::{parent['id']}",
                "MJ::ImagineModal::new_prompt",
                "Imagine This!",
                "",
            ),
        }
        for prefix, (kind, modal_id, field_id, title, value) in forms.items():
            if custom_id.startswith(prefix):
                await self._ack(account, nonce, iid)
                modal = Modal(kind, parent, modal_id, field_id)
                await self._open_modal(account, nonce, iid, modal, title, value)
                return
        if custom_id.startswith("MJ::Inpaint::"):
            await self._ack(account, nonce, iid)
            token = f"MJ::iframe::{secrets.token_urlsafe(24)}"
            self.iframes[token] = Modal(
                "inpaint", parent, token, "", {"account": account, "app": app}
            )
            await self.fake.gateway.broadcast(
                account.token,
                "INTERACTION_IFRAME_MODAL_CREATE",
                {
                    "id": iid,
                    "nonce": nonce,
                    "custom_id": token,
                    "title": "Vary Region",
                    "application": {"id": MJ_BOT},
                    "iframe_path": "/inpaint/",
                },
            )
            return
        op = parts[2] if parts[1] == "JOB" else parts[1]
        remixable = op in (
            "variation",
            "low_variation",
            "high_variation",
            "reroll",
        ) or op.startswith("pan_")
        if self.controls.remix and remixable:
            await self._ack(account, nonce, iid)
            modal = Modal(
                op,
                parent,
                f"MJ::RemixModal::{job_hash}::{parts[3]}::1",
                "MJ::RemixModal::new_prompt",
            )
            await self._open_modal(account, nonce, iid, modal, "Remix Prompt", prompt)
            return
        await self._run_button(account, app, nonce, iid, parent, op, parts, prompt)

    async def _run_button(
        self,
        account: Any,
        app: str,
        nonce: str,
        iid: str,
        parent: dict[str, Any],
        op: str,
        parts: list[str],
        prompt: str,
        *,
        remix: bool = False,
    ) -> None:
        words, rows = "", "grid"
        if op == "upsample":
            words, rows = f"Image #{parts[3]}", "upscale"
        elif op.startswith("upsample_"):
            words, rows = "Upscaled (Subtle) by", "upscale"
        elif op in ("variation", "high_variation"):
            words = "Variations (Strong) by"
        elif op == "low_variation":
            words = "Variations (Subtle) by"
        elif op == "Outpaint":
            words = "Zoom Out by"
        elif op.startswith("pan_"):
            words = f"Pan {op[4:].capitalize()} by"
        if remix:
            words = "Remix (Strong) by"
        await self._imagine(
            account,
            app,
            nonce,
            iid,
            prompt,
            name="imagine",
            reply_to=parent["id"],
            done_words=words,
            done_rows=rows,
        )

    async def _after_modal(
        self, account: Any, app: str, nonce: str, iid: str, modal: Modal, prompt: str
    ) -> None:
        if modal.kind == "zoom":
            await self._imagine(
                account,
                app,
                nonce,
                iid,
                prompt,
                reply_to=modal.parent["id"],
                done_words="Zoom Out by",
            )
        elif modal.kind == "imagine":
            await self._imagine(account, app, nonce, iid, prompt)
        else:
            parts = ["MJ", "JOB", modal.kind, "1"]
            await self._run_button(
                account, app, nonce, iid, modal.parent, modal.kind, parts, prompt, remix=True
            )
