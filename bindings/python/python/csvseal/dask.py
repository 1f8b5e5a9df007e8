"""csvseal.dask: audits and series checks spread over a ``dask.distributed``
cluster (``pip install "csvseal[dask]"``).

``audit(location, client=None, ...)`` and ``verify_series(location, base,
client=None, ...)`` check a local directory (one every worker can read at
the same path) or an ``s3://bucket/prefix/`` with one task per file; a file
larger than ``part_bytes`` is verified in parts, each cut right after a
``\\n`` and verified by the host's continuation verifier, and merged on the
client by the host's exact merge (when a part is not clean the merge
refuses and one more task verifies the file whole, as ``csvseal verify``
does on one machine).

The report is built on the client by the host's own code, the CLI's:
``to_json()`` is byte for byte what ``csvseal audit --json`` or ``csvseal
verify --series --json`` prints for the same location and options. The
location is listed once, on the client; a file counts as verified only
with the report a worker sent for it. A task whose worker dies is retried
by Dask (its ``distributed.scheduler.allowed-failures``); when Dask gives
up, the call raises and nothing is reported or saved (no audit state).

Workers need the ``csvseal`` package and, for ``s3://``, the same ``AWS_*``
credentials (or ``endpoint=``) as the client.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import _native
from ._api import Schema, Seconds, _limits, _object, _schema, _seconds
from ._errors import UsageError, from_native

DEFAULT_PART_BYTES = 256 << 20
"""Files larger than this are verified in parts of about this size."""

TASK_PREFIX = "csvseal-verify-"
"""Every task this module submits has a key starting with this."""


@dataclass(frozen=True)
class ClusterReport:
    """What ``audit`` or ``verify_series`` found: the CLI's JSON document."""

    text: str = field(repr=False)
    """The document as the CLI prints it (pretty JSON, a final newline)."""
    document: dict[str, Any]

    @property
    def valid(self) -> bool:
        """No alert (an audit) or every file valid and no overlap (a series)."""
        return bool(self.document["ok"] if "ok" in self.document else self.document["valid"])

    def to_json(self) -> str:
        """Byte for byte ``csvseal audit --json`` / ``verify --series --json``."""
        return self.text


def _verify_task(
    location: str,
    k: int,
    n: int,
    identity: str | None,
    schema_arg: Any,
    limits: Any,
    obj: Any,
) -> str:
    """One task, on a worker: a file whole (n == 1) or its part k of n."""
    from csvseal import _native as native  # imported on the worker

    return native.verify_task(location, k, n, identity, schema_arg, limits, obj)


def _client(client: Any) -> Any:
    if client is None:
        from distributed import get_client

        return get_client()
    return client


def _parts(size: int, part_bytes: int) -> int:
    return max(1, math.ceil(size / part_bytes)) if size > part_bytes else 1


def _runner(
    client: Any, part_bytes: int, schema_arg: Any, limits: Any, obj: Any
) -> Callable[[list[tuple[str, str, int, str | None]]], list[str]]:
    """The callable the native audit or series check hands its files to:
    it returns one final outcome (a report or a failure) per file."""

    def submit(path: str, k: int, n: int, identity: str | None) -> Any:
        key = f"{TASK_PREFIX}{uuid.uuid4().hex}-{k}of{n}"
        return client.submit(
            _verify_task, path, k, n, identity, schema_arg, limits, obj, key=key, pure=False
        )

    def run(tasks: list[tuple[str, str, int, str | None]]) -> list[str]:
        if not tasks:
            return []
        first = [
            [submit(path, k, n, ident) for k in range(n)]
            for _name, path, size, ident in tasks
            for n in [_parts(size, part_bytes)]
        ]
        # Raises when Dask gives up on a task (e.g. KilledWorker).
        results: list[list[str]] = client.gather(first)
        outcomes: list[str | None] = []
        for parts in results:
            if len(parts) == 1:
                outcomes.append(parts[0])
            else:
                outcomes.append(_native_merge(parts, limits))
        again = {
            i: submit(tasks[i][1], 0, 1, tasks[i][3]) for i, o in enumerate(outcomes) if o is None
        }
        if again:
            for i, text in zip(again, client.gather(list(again.values()))):
                outcomes[i] = text
        return [o for o in outcomes if o is not None]

    return run


def _native_merge(parts: list[str], limits: Any) -> str | None:
    try:
        return _native.merge_parts(parts, limits)
    except _native.NativeError as e:
        raise from_native(e) from None


def _check(part_bytes: int) -> int:
    if isinstance(part_bytes, bool) or not isinstance(part_bytes, int) or part_bytes < 1:
        raise UsageError(f"part_bytes={part_bytes!r}: must be an int of at least 1")
    return part_bytes


# What the CLI writes as \uXXXX in JSON beyond the controls serde_json
# escapes: DEL, C1 controls and the bidirectional overrides and isolates
# (host/src/cli/terminal.rs, json_safe): a file name cannot reorder a line.
_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _json_safe(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _call(fn: Any, *args: Any, **kwargs: Any) -> ClusterReport:
    try:
        text = fn(*args, **kwargs)
    except _native.NativeError as e:
        raise from_native(e) from None
    return ClusterReport(text=_json_safe(text), document=json.loads(text))


def audit(
    location: str,
    client: Any = None,
    *,
    schema: Schema = None,
    max_temp_age: Seconds = 3600,
    state_file: str | None = None,
    metrics_file: str | None = None,
    full: bool = False,
    rescan_after: Seconds = 7 * 86400,
    max_bytes: int | None = None,
    keys: Sequence[str] | None = None,
    part_bytes: int = DEFAULT_PART_BYTES,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
) -> ClusterReport:
    """``csvseal audit --dir LOCATION --json`` with the files verified on
    the cluster of ``client`` (default: ``distributed.get_client()``).

    The options are the CLI's: ``max_temp_age`` and ``rescan_after`` in
    seconds (or a ``timedelta``), ``state_file`` (default: the location's
    ``.csvseal-audit-state.json``, saved by the client after the audit),
    ``metrics_file``, ``full``, ``max_bytes``. Signatures (``keys=``, the
    CLI's ``--key``) are not checked on a cluster: ``UsageError``.
    """
    if keys:
        raise UsageError(
            "keys=: signatures are not audited on a cluster; run `csvseal audit --key` on one machine"
        )
    if not isinstance(location, str):
        raise TypeError(f"location must be a str, not {type(location).__name__}")
    limits = _limits(
        max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements
    )
    schema_arg, obj = _schema(schema), _object(endpoint, retry_timeout)
    temp_age, rescan = _seconds("max_temp_age", max_temp_age), _seconds("rescan_after", rescan_after)
    if temp_age is None or rescan is None:
        raise UsageError("max_temp_age= and rescan_after= need a duration")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
        raise UsageError(f"max_bytes={max_bytes!r}: must be an int of at least 0")
    run = _runner(_client(client), _check(part_bytes), schema_arg, limits, obj)
    opts = (temp_age, state_file, metrics_file, bool(full), rescan, max_bytes)
    return _call(_native.fanout_audit, location, run, schema_arg, limits, opts, obj)


def verify_series(
    location: str,
    base: str,
    client: Any = None,
    *,
    schema: Schema = None,
    keys: Sequence[str] | None = None,
    part_bytes: int = DEFAULT_PART_BYTES,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
) -> ClusterReport:
    """``csvseal verify --series LOCATION BASE --json`` with the files
    verified on the cluster of ``client`` (default:
    ``distributed.get_client()``). Signatures (``keys=``) are not checked
    on a cluster: ``UsageError``.
    """
    if keys:
        raise UsageError(
            "keys=: signatures are not checked on a cluster; use csvseal.verify_series(..., public_key=)"
        )
    if not isinstance(location, str) or not isinstance(base, str):
        raise TypeError("location and base must be str")
    limits = _limits(
        max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements
    )
    schema_arg, obj = _schema(schema), _object(endpoint, retry_timeout)
    run = _runner(_client(client), _check(part_bytes), schema_arg, limits, obj)
    return _call(_native.fanout_series, location, base, run, obj)


__all__ = ["audit", "verify_series", "ClusterReport", "DEFAULT_PART_BYTES", "TASK_PREFIX"]
