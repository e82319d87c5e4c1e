"""Lite's wake-up socket: commands in other processes reach lite's in-memory bus; only wake-ups pass."""

import socket

from leoflow.bus import home_socket
from leoflow.bus.bus import SCHEDULER_QUEUE, MemoryBus


def test_a_wake_up_reaches_the_bus_and_garbage_does_not(tmp_path):
    home = tmp_path / ("h" * 60) / ("o" * 60)  # longer than sockaddr_un holds: reached through /proc/self/fd
    home.mkdir(parents=True)
    assert home_socket.send(home, SCHEDULER_QUEUE, {"kind": "x"}) is False  # no lite listening
    bus = MemoryBus()
    listener = home_socket.listen(bus, home)
    try:
        assert oct((home / "wake.sock").stat().st_mode & 0o777) == "0o600"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
            address = home_socket._Address(home)
            for junk in (b"not json", b"[1]", b'{"queue": "elsewhere", "event": {}}', b'{"queue": "' +
                         SCHEDULER_QUEUE.encode() + b'", "event": [1]}'):
                raw.sendto(junk, address.name)
            address.close()
        assert home_socket.send(home, SCHEDULER_QUEUE, {"kind": "run_created", "dag_id": "d", "run_id": "r",
                                                        "conf": {"big": "x"}, "path": 5})
        assert bus.wait(SCHEDULER_QUEUE, 5) == [{"kind": "run_created", "dag_id": "d", "run_id": "r"}]
    finally:
        listener.close()
    assert not (home / "wake.sock").exists()
