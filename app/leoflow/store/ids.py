"""Time-ordered ids (UUID version 7, RFC 9562), as Airflow 3 gives task instances and DAG versions.

Sorting by such an id is sorting by creation time, which Airflow's lists rely on as a tie-break.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # (milliseconds, counter): ids made in the same millisecond still increase


def uuid7() -> str:
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            ms = _last[0]
            _last[1] += 1
        else:
            _last[0], _last[1] = ms, int.from_bytes(os.urandom(2), "big") & 0x3FF
        counter = _last[1] & 0xFFF
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))
