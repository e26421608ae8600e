"""The relay's settings, one module per concern, composed by ``root.Settings``.

Importers use this package: ``from mjrelay.core.settings import Settings, load_settings``.
"""

from mjrelay.core.settings.channels import (
    ALL_MODES,
    CHANNEL_NAME_PATTERN,
    ChannelConfig,
    ChannelSettings,
    RoutingSettings,
    SpeedMode,
)
from mjrelay.core.settings.media import MediaSettings
from mjrelay.core.settings.operator import (
    CallbackSettings,
    LedgerSettings,
    OperatorSettings,
    RateLimitSettings,
)
from mjrelay.core.settings.root import Settings, load_settings
from mjrelay.core.settings.sandbox import SandboxSettings
from mjrelay.core.settings.server import ServerSettings
from mjrelay.core.settings.sources import CONFIG_ENV_VAR, ConfigFileError
from mjrelay.core.settings.storage import StorageSettings
from mjrelay.core.settings.streams import StreamSettings
from mjrelay.core.settings.tasks import TaskSettings

__all__ = [
    "ALL_MODES",
    "CHANNEL_NAME_PATTERN",
    "CONFIG_ENV_VAR",
    "CallbackSettings",
    "ChannelConfig",
    "ChannelSettings",
    "ConfigFileError",
    "LedgerSettings",
    "MediaSettings",
    "OperatorSettings",
    "RateLimitSettings",
    "RoutingSettings",
    "SandboxSettings",
    "ServerSettings",
    "Settings",
    "SpeedMode",
    "StorageSettings",
    "StreamSettings",
    "TaskSettings",
    "load_settings",
]
