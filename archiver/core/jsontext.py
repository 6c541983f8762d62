"""JSON text that always encodes to UTF-8.

Python strings can hold lone surrogates (JSON allows `"\\ud800"`), which UTF-8 cannot
encode. Readable text is written as is; only text holding such a surrogate falls back
to `\\u` escapes, which keep the exact value.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON text of `value` that is safe to encode as UTF-8."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text
