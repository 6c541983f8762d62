"""True/false settings, read one way everywhere: unset, `false`, `0`, `no` or `off` is
false; `true`, `1`, `yes` or `on` is true; anything else is refused by name. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from archiver.core.errors import ConfigurationError


def read_flag(values: Mapping[str, str], name: str) -> bool:
    """A true/false setting (false when unset); raise ConfigurationError naming it."""
    text = values.get(name, "").strip().lower()
    if text in ("", "false", "0", "no", "off"):
        return False
    if text in ("true", "1", "yes", "on"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {text!r}")
