"""TaskService built directly (no HTTP): validation, stored records, refusals, cancel, tenants."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjrelay.core.errors import (
    BannedPrompt,
    NotFound,
    QueueFull,
    RelayError,
    ReturnCode,
    TaskNotFound,
    ValidationFailed,
)
from mjrelay.domain.task import TaskAction, TaskStatus
from mjrelay.services.tasks.service import Common
from tests.support.services import Services, running_services
from tests.support.wire import png_data_url

NO_KEY = Common()


def A(services: Services) -> int:
    return services.alice.tenant_id


def B(services: Services) -> int:
    return services.bob.tenant_id


async def finished_imagine(services: Services) -> str:
    """An imagine that succeeded, with its grid of buttons."""
    submitted = await services.tasks.imagine(A(services), "a red fox", None, NO_KEY)
    await services.engine.finish(submitted.task_id)
    return submitted.task_id


async def test_imagine_stores_the_task_and_hands_the_job_to_the_engine(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        submitted = await services.tasks.imagine(
            A(services), "  a red fox  ", None, Common(state="s1")
        )
        assert submitted.code == ReturnCode.SUCCESS
        record = await services.record(submitted.task_id)
        assert record is not None
        assert record.task.action == TaskAction.IMAGINE
        assert record.task.prompt == "a red fox"
        assert record.task.state == "s1"
        assert record.tenant_id == A(services)
        assert services.engine.jobs[submitted.task_id].prompt == "a red fox"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [(None, "prompt: required"), ("   ", "prompt: required"), (42, "prompt: must be a string")],
)
async def test_imagine_refuses_a_bad_prompt(tmp_path: Path, prompt: object, message: str) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match=message):
            await services.tasks.imagine(A(services), prompt, None, NO_KEY)
        assert services.engine.jobs == {}


async def test_imagine_refuses_a_prompt_over_the_limit(tmp_path: Path) -> None:
    async with running_services(tmp_path, max_prompt_chars=10) as services:
        with pytest.raises(ValidationFailed, match="longer than 10"):
            await services.tasks.imagine(A(services), "x" * 11, None, NO_KEY)


async def test_imagine_with_a_reference_image_puts_its_url_before_the_prompt(
    tmp_path: Path,
) -> None:
    async with running_services(tmp_path) as services:
        submitted = await services.tasks.imagine(A(services), "a fox", [png_data_url()], NO_KEY)
        job = services.engine.jobs[submitted.task_id]
        assert len(job.images) == 1
        assert job.prompt == f"{services.relay.media.url_of(job.images[0])} a fox"


async def test_imagine_refuses_a_bad_image_naming_the_field(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match=r"base64Array\[1\]"):
            await services.tasks.imagine(
                A(services), "a fox", [png_data_url(), "not-an-image"], NO_KEY
            )


async def test_imagine_refuses_an_unknown_bot_type(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match="botType"):
            await services.tasks.imagine(A(services), "a fox", None, Common(bot_type="OTHER"))


@pytest.mark.parametrize("refusal", [QueueFull("queue full"), BannedPrompt("banned")])
async def test_a_refused_job_is_withdrawn(tmp_path: Path, refusal: RelayError) -> None:
    async with running_services(tmp_path) as services:
        services.engine.refuse_with = refusal
        # The client sees the refusal's own code (23 full, 24 banned), whatever wraps it.
        with pytest.raises(RelayError) as refused:
            await services.tasks.imagine(A(services), "a fox", None, NO_KEY)
        assert refused.value.code == refusal.code
        assert await services.tasks.list_recent(A(services), limit=10, offset=0, before=None) == []


async def test_a_queued_job_answers_code_22_with_the_queue_length(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        services.engine.queue_next = True
        submitted = await services.tasks.imagine(A(services), "a fox", None, NO_KEY)
        assert submitted.code == ReturnCode.IN_QUEUE
        assert submitted.properties == {"numberOfQueues": 1}


async def test_blend_needs_two_images_and_a_known_dimension(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match="base64Array"):
            await services.tasks.blend(A(services), [png_data_url()], "SQUARE", NO_KEY)
        with pytest.raises(ValidationFailed, match="dimensions"):
            await services.tasks.blend(A(services), [png_data_url()] * 2, "ROUND", NO_KEY)
        submitted = await services.tasks.blend(A(services), [png_data_url()] * 2, None, NO_KEY)
        job = services.engine.jobs[submitted.task_id]
        assert job.action == TaskAction.BLEND
        assert job.dimensions == "SQUARE"
        assert len(job.images) == 2


async def test_describe_needs_an_image_or_a_link(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match="base64: an image"):
            await services.tasks.describe(A(services), None, None, NO_KEY)
        with pytest.raises(ValidationFailed, match="link: must be a string"):
            await services.tasks.describe(A(services), None, 7, NO_KEY)
        submitted = await services.tasks.describe(A(services), png_data_url(), None, NO_KEY)
        assert services.engine.jobs[submitted.task_id].action == TaskAction.DESCRIBE


async def test_action_on_a_finished_task_creates_a_child_on_its_channel(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        parent_id = await finished_imagine(services)
        parent = await services.record(parent_id)
        assert parent is not None
        upscale = parent.task.buttons[0]
        submitted = await services.tasks.action(
            A(services), parent_id, upscale.custom_id, False, NO_KEY
        )
        child = await services.record(submitted.task_id)
        assert child is not None
        assert child.parent_id == parent_id
        assert child.task.action == TaskAction.UPSCALE
        job = services.engine.jobs[submitted.task_id]
        assert job.parent is not None and job.parent.task_id == parent_id


async def test_action_validation_errors(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        parent_id = await finished_imagine(services)
        with pytest.raises(ValidationFailed, match="customId: required"):
            await services.tasks.action(A(services), parent_id, "", False, NO_KEY)
        with pytest.raises(ValidationFailed, match="customId"):
            await services.tasks.action(A(services), parent_id, "MJ::Nonsense", False, NO_KEY)
        with pytest.raises(NotFound, match="related task"):
            await services.tasks.action(
                A(services), "404404", "MJ::JOB::upsample::1::x", False, NO_KEY
            )
        pending = await services.tasks.imagine(A(services), "not done", None, NO_KEY)
        with pytest.raises(ValidationFailed, match="not SUCCESS"):
            await services.tasks.action(
                A(services), pending.task_id, "MJ::JOB::upsample::1::x", False, NO_KEY
            )


async def test_remix_variation_waits_for_a_modal_then_runs_with_its_prompt(
    tmp_path: Path,
) -> None:
    async with running_services(tmp_path) as services:
        parent_id = await finished_imagine(services)
        parent = await services.record(parent_id)
        assert parent is not None
        variation = next(b for b in parent.task.buttons if b.label == "V1")
        waiting = await services.tasks.action(
            A(services), parent_id, variation.custom_id, True, NO_KEY
        )
        assert waiting.code == ReturnCode.EXISTED
        assert waiting.task_id not in services.engine.jobs
        record = await services.record(waiting.task_id)
        assert record is not None and record.task.status == TaskStatus.MODAL

        done = await services.tasks.modal(A(services), waiting.task_id, "a blue fox", None)
        assert done.code == ReturnCode.SUCCESS
        assert services.engine.jobs[waiting.task_id].prompt == "a blue fox"
        with pytest.raises(ValidationFailed, match="not waiting for a modal"):
            await services.tasks.modal(A(services), waiting.task_id, "again", None)


async def test_modal_of_another_tenant_is_not_found(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        parent_id = await finished_imagine(services)
        parent = await services.record(parent_id)
        assert parent is not None
        variation = next(b for b in parent.task.buttons if b.label == "V1")
        waiting = await services.tasks.action(
            A(services), parent_id, variation.custom_id, True, NO_KEY
        )
        with pytest.raises(NotFound):
            await services.tasks.modal(B(services), waiting.task_id, "mine now", None)
        with pytest.raises(ValidationFailed, match="taskId: required"):
            await services.tasks.modal(A(services), "", "x", None)


async def test_simple_change_finds_the_matching_button(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        parent_id = await finished_imagine(services)
        with pytest.raises(ValidationFailed, match="content"):
            await services.tasks.simple_change(A(services), "U1", NO_KEY)
        submitted = await services.tasks.simple_change(A(services), f"{parent_id} U2", NO_KEY)
        assert services.engine.jobs[submitted.task_id].action == TaskAction.UPSCALE
        with pytest.raises(ValidationFailed, match="index"):
            await services.tasks.change(A(services), parent_id, "VARIATION", 5, NO_KEY)


async def test_cancel_tells_the_engine_and_is_final(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        submitted = await services.tasks.imagine(A(services), "a fox", None, NO_KEY)
        await services.tasks.cancel(A(services), submitted.task_id)
        assert services.engine.cancelled == [submitted.task_id]
        record = await services.record(submitted.task_id)
        assert record is not None and record.task.status == TaskStatus.CANCEL
        with pytest.raises(ValidationFailed, match="already finished"):
            await services.tasks.cancel(A(services), submitted.task_id)


async def test_tenants_see_only_their_own_tasks(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        mine = await services.tasks.imagine(A(services), "mine", None, NO_KEY)
        theirs = await services.tasks.imagine(B(services), "theirs", None, NO_KEY)
        assert b"mine" in await services.tasks.fetch_wire(A(services), mine.task_id)
        with pytest.raises(TaskNotFound):
            await services.tasks.fetch_wire(A(services), theirs.task_id)
        with pytest.raises(TaskNotFound):
            await services.tasks.cancel(A(services), theirs.task_id)
        listed = await services.tasks.list_by_ids(A(services), [mine.task_id, theirs.task_id])
        assert len(listed) == 1 and b"mine" in listed[0]
        recent = await services.tasks.list_recent(A(services), limit=10, offset=0, before=None)
        assert [task_id for task_id, _wire in recent] == [mine.task_id]
        assert theirs.task_id not in services.engine.cancelled


async def test_list_by_ids_refuses_a_non_list(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        with pytest.raises(ValidationFailed, match="ids"):
            await services.tasks.list_by_ids(A(services), "abc")


async def test_image_seed_exists_once_the_task_succeeded(tmp_path: Path) -> None:
    async with running_services(tmp_path) as services:
        pending = await services.tasks.imagine(A(services), "a fox", None, NO_KEY)
        with pytest.raises(ValidationFailed, match="once it succeeds"):
            await services.tasks.image_seed(A(services), pending.task_id)
        await services.engine.finish(pending.task_id, seed="987")
        assert await services.tasks.image_seed(A(services), pending.task_id) == "987"
