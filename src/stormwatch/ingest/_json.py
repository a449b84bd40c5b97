"""JSON through orjson when installed (several times faster), the standard library otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _orjson = None  # type: ignore[assignment]

JSONDecodeError: tuple[type[Exception], ...]


def _std_loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))


def _std_dumps(obj: Any, default: Callable[[Any], Any] | None = None, sort_keys: bool = False) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=default, sort_keys=sort_keys)
    return text.encode("utf-8")


if _orjson is not None:
    loads: Callable[[bytes], Any] = _orjson.loads
    JSONDecodeError = (_orjson.JSONDecodeError, RecursionError)

    def dumps(obj: Any, default: Callable[[Any], Any] | None = None, sort_keys: bool = False) -> bytes:
        """Compact UTF-8 JSON bytes."""
        opt = _orjson.OPT_SORT_KEYS if sort_keys else 0
        return _orjson.dumps(obj, default=default, option=opt)

else:  # pragma: no cover
    loads = _std_loads
    JSONDecodeError = (ValueError, RecursionError)
    dumps = _std_dumps
