"""Read LLM interaction logs into Events: JSONL, OpenAI Chat Completions logs, CSV, Parquet, stdin.

All readers stream in constant memory and undo gzip / zstd transparently (by magic bytes, so a misnamed
file works too). A bad record is counted in an `IngestReport` with its line, field and reason, and
skipped; `strict=True` raises the first instead (a `RecordError`, subclass of `InputRecordError`).

Input fields (generic JSONL, CSV columns, Parquet columns): `id`; `timestamp` (also `created_at`,
`created`, `ts`: ISO 8601, or epoch s / ms / µs / ns as number or digits; naive times are UTC);
`account_id` (`user_id`, `user`); `org_id` (`organization_id`); `session_id` (`conversation_id`,
`thread_id`); `source_ip` (`client_ip`, `ip`); `user_agent`; `api_key_id`; `model`; `messages`
(`[{role, content, name?, tool_calls?}]`, content a string or an array of parts); `prompt` (`text`,
`input`) for a one-turn event; `system`; `response` (`completion`, `output`: text, parts, or an OpenAI
response object); `metadata` (an object). Any other field is kept in `metadata`. Numeric ids become text.

OpenAI Chat Completions log lines `{"request": {...}, "response": {...}}` are recognised on each JSONL
line: request `messages`, `model`, `user` (-> account_id), `metadata`; response `id`, `created`
(-> timestamp), `choices[0].message.content` (or its `refusal`), `finish_reason` (-> metadata).
Text parts are kept; images and other non-text parts are counted in `metadata["skipped_parts"]`.
Assistant tool calls become text lines `[tool call] NAME(ARGUMENTS)` so detectors see them.

MCP (Model Context Protocol) JSON-RPC log lines, bare or wrapped as `{..., "message": {"jsonrpc": "2.0", ...}}`,
are recognised too: `tools/call` -> an assistant tool-call line, results -> tool turns, `tools/list` results ->
one tool turn per tool description (with its parameter descriptions), `sampling/createMessage` -> its messages;
protocol lines with no text are counted as `missing-text` (see `stormwatch.ingest._mcp`).

Secrets: `api_key`, `authorization` and similar keys (top level, metadata, request, `headers`) are never
stored. When no `api_key_id` is given, one is derived: `key-` + 16 hex digits of the key's SHA-256.

Ids: a record without an `id` gets `ev-` + 20 hex digits of SHA-256 over its line (or row) number and its
bytes (the stripped JSONL line; for CSV / Parquet rows, their key-sorted JSON). So a re-run over the same
file gives the same ids (the hunt store is keyed by them), identical lines at different places stay
distinct, and the id does not depend on how the path was spelled. OpenAI lines use the response `id`.
"""

from stormwatch.ingest._hints import no_event_hints
from stormwatch.ingest._limits import Limits
from stormwatch.ingest._mapping import check_mapping, parse_mapping
from stormwatch.ingest._normalize import api_key_id_for, deterministic_id, parse_timestamp
from stormwatch.ingest._readers import event_from_record, read_events
from stormwatch.ingest._report import BadKind, BadRecord, BadRecordLog, IngestReport, RecordError
from stormwatch.ingest._source import Format, format_from_name
from stormwatch.ingest._writer import event_to_dict, write_jsonl

__all__ = [
    "BadKind",
    "BadRecord",
    "BadRecordLog",
    "Format",
    "IngestReport",
    "Limits",
    "RecordError",
    "api_key_id_for",
    "check_mapping",
    "deterministic_id",
    "event_from_record",
    "event_to_dict",
    "format_from_name",
    "no_event_hints",
    "parse_mapping",
    "parse_timestamp",
    "read_events",
    "write_jsonl",
]
