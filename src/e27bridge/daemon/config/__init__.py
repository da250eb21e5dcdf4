"""The daemon's configuration: one TOML file, overridden by ``E27BRIDGE_<SECTION>__<KEY>``.

``models`` holds the sections and their rules, ``loading`` reads the file and the
environment and reports every problem as ``key.path: problem``.
"""

from e27bridge.daemon.config.loading import (
    CONFIG_PATH_ENV,
    DEFAULT_CONFIG_PATH,
    ENV_PREFIX,
    ConfigError,
    add_config_argument,
    default_config_path,
    load_config,
)
from e27bridge.daemon.config.models import (
    BridgeConfig,
    Config,
    EntityOverride,
    LoggingConfig,
    MetricsConfig,
    MqttConfig,
    PanelConfig,
    Port,
    QueueConfig,
    RttBackoffConfig,
    TlsConfig,
)

__all__ = [
    "CONFIG_PATH_ENV",
    "DEFAULT_CONFIG_PATH",
    "ENV_PREFIX",
    "BridgeConfig",
    "Config",
    "ConfigError",
    "EntityOverride",
    "LoggingConfig",
    "MetricsConfig",
    "MqttConfig",
    "PanelConfig",
    "Port",
    "QueueConfig",
    "RttBackoffConfig",
    "TlsConfig",
    "add_config_argument",
    "default_config_path",
    "load_config",
]
