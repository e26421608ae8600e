"""Every way a Discord job can go wrong ends in a clear task state (against the fake Discord)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.discord_env import discord_channel, discord_relay, imagine_done, submit
from tests.support.fake_discord import running_fake_discord
from tests.support.live import wait_for_status


async def test_error_embeds_become_fail_reasons(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("erin")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            cases = {
                "a banned thing": "Banned prompt detected: Sorry! Our AI moderators",
                "a cat --badparam": "Invalid parameter: Unrecognized parameter(s)",
                "queuefull cat": "Queue full: You have too many jobs queued",
                "captcha cat": (
                    "Discord needs a human to continue (captcha): Action needed to continue"
                ),
            }
            for prompt, reason in cases.items():
                task = await imagine_done(client, prompt)
                assert task["status"] == "FAILURE", task
                assert task["failReason"].startswith(reason), task["failReason"]
            # "Job queued" is Midjourney's own queue, not an error: the job still finishes.
            queued = await imagine_done(client, "jobqueued cat")
            assert queued["status"] == "SUCCESS", queued


async def test_deleted_message_and_timeout(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("fay")
        channel = discord_channel(
            fake, account, "acct-1", deleted_grace_seconds=0.3, timeout_minutes=0.03
        )
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            vanished = await imagine_done(client, "vanish cat")
            assert vanished["status"] == "FAILURE"
            assert vanished["failReason"] == (
                "the Midjourney bot deleted the job's message without a result"
            )
            answer = await submit(client, "/mj/submit/imagine", {"prompt": "silent cat"})
            silent = await wait_for_status(client, answer["result"], {"FAILURE"}, within=10)
            assert silent["failReason"] == (
                "timed out: no result from Midjourney within 0.03 minutes"
            )
            # The slot came back: the next job runs.
            assert (await imagine_done(client, "a dog"))["status"] == "SUCCESS"


async def test_concurrency_limit_and_queue(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("gus")
        fake.bot.controls.gate = asyncio.Event()
        channel = discord_channel(fake, account, "acct-1", core_size=1, queue_size=1)
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            first = await submit(client, "/mj/submit/imagine", {"prompt": "one"})
            second = await submit(client, "/mj/submit/imagine", {"prompt": "two"})
            third = await submit(client, "/mj/submit/imagine", {"prompt": "three"})
            assert first["code"] == 1, first
            assert second["code"] == 22 and second["properties"]["numberOfQueues"] == 0, second
            assert third["code"] == 23, third
            await wait_for_status(client, first["result"], {"IN_PROGRESS"})
            assert len(fake.interactions) == 1  # the queued job has not been sent yet
            fake.bot.controls.gate.set()
            for answer in (first, second):
                done = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
                assert done["status"] == "SUCCESS", done
            assert fake.bot.max_running == 1


async def test_full_account_fails_over_to_least_busy(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        a, b = fake.add_account("ann"), fake.add_account("ben")
        fake.bot.controls.gate = asyncio.Event()
        channels = [
            discord_channel(fake, a, "acct-a", core_size=1, queue_size=0),
            discord_channel(fake, b, "acct-b", core_size=1, queue_size=0),
        ]
        async with discord_relay(tmp_path / "d", channels) as live, live.client() as client:
            answers = [
                await submit(client, "/mj/submit/imagine", {"prompt": f"job {i}"}) for i in range(3)
            ]
            assert [a["code"] for a in answers] == [1, 1, 23], answers
            used = sorted(p["channel_id"] for p in fake.interactions)
            assert used == sorted([a.channel_id, b.channel_id])  # one job on each account
            fake.bot.controls.gate.set()
            for answer in answers[:2]:
                done = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
                assert done["status"] == "SUCCESS", done


async def test_rate_limit_retry_after_is_honoured(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("hal")
        fake.rate_limit_next = 2
        fake.retry_after = 0.2
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            task = await imagine_done(client, "patient cat")
            assert task["status"] == "SUCCESS", task
            first, second = fake.rate_limited_at
            assert second - first >= 0.2
            assert len(fake.interactions) == 1


async def test_same_prompt_jobs_matched_to_their_own_tasks(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("ivy")
        fake.bot.controls.progress_steps = 3
        fake.bot.controls.step_delay = 0.05
        fake.bot.controls.slow_first = True  # the second job finishes first
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answers = await asyncio.gather(
                *(submit(client, "/mj/submit/imagine", {"prompt": "twin cat"}) for _ in range(2))
            )
            done = [
                await wait_for_status(client, a["result"], {"SUCCESS", "FAILURE"}) for a in answers
            ]
            assert all(t["status"] == "SUCCESS" for t in done), done
            for task in done:
                record = await live.relay.lifecycle.store.get(task["id"])
                assert record is not None
                nonce = record.engine_state["nonce"]
                # The image is the one the bot made for THIS task's interaction.
                assert task["properties"]["messageHash"] == fake.bot.hash_by_nonce[nonce]
            assert done[0]["imageUrl"] != done[1]["imageUrl"]


async def test_least_busy_account_and_bot_filter(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        a, b, niji = fake.add_account("quo"), fake.add_account("rex"), fake.add_account("sue")
        fake.bot.controls.gate = asyncio.Event()
        channels = [
            discord_channel(fake, a, "acct-a", priority=5, bots=["MID_JOURNEY"]),
            discord_channel(fake, b, "acct-b", priority=5, bots=["MID_JOURNEY"]),
            discord_channel(fake, niji, "acct-niji", bots=["NIJI_JOURNEY"]),
        ]
        async with discord_relay(tmp_path / "d", channels) as live, live.client() as client:
            answers = [
                await submit(client, "/mj/submit/imagine", {"prompt": f"busy {i}"})
                for i in range(4)
            ]
            assert all(answer["code"] == 1 for answer in answers), answers
            by_channel = [p["channel_id"] for p in fake.interactions]
            # Each job went to the least busy account: two each, never three on one.
            assert sorted(by_channel) == sorted([a.channel_id] * 2 + [b.channel_id] * 2)

            # Niji jobs skip the accounts without the Niji bot, and that is no failure of theirs.
            anime = await submit(
                client, "/mj/submit/imagine", {"prompt": "anime", "botType": "NIJI_JOURNEY"}
            )
            assert anime["code"] == 1, anime
            assert fake.interactions[-1]["channel_id"] == niji.channel_id
            breakers = live.relay.dispatcher.router.breakers
            assert breakers.of("acct-a").available() and breakers.of("acct-b").available()
            record = await live.relay.lifecycle.store.get(anime["result"])
            assert record is not None
            assert [x["channel"] for x in record.engine_state.get("attempts", [])] in (
                ["acct-a", "acct-b"],
                ["acct-b", "acct-a"],
            )
            fake.bot.controls.gate.set()
            for answer in [*answers, anime]:
                done = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
                assert done["status"] == "SUCCESS", done
