"""A fake Discord (REST + gateway + CDN) that plays the Midjourney bot, for tests and benchmarks."""

from tests.support.fake_discord.server import Account, FakeDiscord, running_fake_discord

__all__ = ["Account", "FakeDiscord", "running_fake_discord"]
