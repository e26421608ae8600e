"""Channels: building engines from configuration and switching them at runtime.

Entry object: ``ChannelManager``.
"""

from mjrelay.services.channels.manager import ChannelManager

__all__ = ["ChannelManager"]
