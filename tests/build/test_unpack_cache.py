"""The downloaded file keeps the current and the previous unpacked build in its cache: older ones go
unless a process uses them.

Real files, real locks held by real processes, a real noexec mount (ADR 28).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build"))
from selfextract import build  # noqa: E402

sys.path.pop(0)

from leoflow.cli.unpack_cache import STALE_UNPACK_SECONDS, prune  # noqa: E402

# A stand-in for the unpacked program: `_prune-cache` runs Leoflow's real pruner, `hold` takes the
# lock a real run takes (build/entry.py) and waits, anything else prints its note.
PROGRAM = f"""#!/bin/sh
case "$1" in
  _prune-cache) exec {sys.executable} -m leoflow.cli.main "$@" ;;
  hold) exec {sys.executable} -c 'import sys, time; from leoflow.cli.unpack_cache import hold; hold(sys.argv[1]); print("held", flush=True); time.sleep(120)' "$0" ;;
esac
cat "$(dirname "$0")/note"
"""


def make_exe(tmp_path: Path, note: str) -> tuple[Path, str]:
    folder = tmp_path / f"onedir-{note}"
    folder.mkdir()
    (folder / "leoflow").write_text(PROGRAM)
    (folder / "leoflow").chmod(0o755)
    (folder / "note").write_text(note + "\n")
    exe = tmp_path / f"leoflow-{note}"
    return exe, build(folder, exe, "9.9")


def launch(exe: Path, cache: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEOFLOW_CACHE_DIR": str(cache)}
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=60, **kw)


def builds_in(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir()}


def test_a_new_build_keeps_the_previous_removes_the_older_and_nothing_else(tmp_path):
    cache = tmp_path / "cache"
    (one, h1), (two, h2), (three, h3) = (make_exe(tmp_path, n) for n in ("one", "two", "three"))
    assert launch(one, cache).stdout == "one\n"
    cache.joinpath("dags-test-1234.db").write_text("not ours")  # whatever else lives in the folder
    cache.joinpath("notes").mkdir()
    assert launch(two, cache).stdout == "two\n"
    assert builds_in(cache) == {h1, h2, "dags-test-1234.db", "notes"}  # going back one starts at once
    assert launch(three, cache).stdout == "three\n"
    assert builds_in(cache) == {h2, h3, "dags-test-1234.db", "notes"}
    assert launch(one, cache).stdout == "one\n"  # the old file still runs: it unpacks again
    assert builds_in(cache) == {h3, h1, "dags-test-1234.db", "notes"}


def test_a_build_in_use_is_kept_until_its_last_process_ends(tmp_path):
    cache = tmp_path / "cache"
    (one, h1), (two, h2), (three, h3) = (make_exe(tmp_path, n) for n in ("one", "two", "three"))
    env = {**os.environ, "LEOFLOW_CACHE_DIR": str(cache)}
    (four, h4) = make_exe(tmp_path, "four")
    running = subprocess.Popen([str(one), "hold"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout.readline() == "held\n"
        assert launch(two, cache).stdout == "two\n"
        assert launch(three, cache).stdout == "three\n"
        assert builds_in(cache) == {h1, h2, h3}  # one is in use (two is the previous)
    finally:
        running.kill()
        running.wait(10)
    assert launch(four, cache).stdout == "four\n"
    assert builds_in(cache) == {h3, h4}


def test_a_process_running_a_program_from_the_folder_keeps_it_without_the_lock(tmp_path):
    """Copies unpacked before the lock existed: on Linux, /proc tells whose program lives there."""
    cache = tmp_path / "cache"
    (one, h1), (two, h2), (three, h3) = (make_exe(tmp_path, n) for n in ("one", "two", "three"))
    launch(one, cache)
    launch(two, cache)
    sleeper = cache / h1 / "sleep"
    sleeper.write_bytes(Path("/bin/sleep").read_bytes())
    sleeper.chmod(0o755)
    proc = subprocess.Popen([str(sleeper), "60"])
    try:
        deadline = time.monotonic() + 10
        while not os.readlink(f"/proc/{proc.pid}/exe").startswith(str(cache)) and time.monotonic() < deadline:
            time.sleep(0.01)
        launch(three, cache)
        assert builds_in(cache) == {h1, h2, h3}  # one is not the previous build, but a process runs from it
    finally:
        proc.kill()
        proc.wait(10)


def test_leftovers_of_interrupted_unpacks_and_prunes(tmp_path):
    cache = tmp_path / "cache"
    for name in (".unpack-old", ".unpack-fresh", ".trash-0123456789abcdef-42", "0123456789abcdef"):
        (cache / name).mkdir(parents=True)
    old = time.time() - STALE_UNPACK_SECONDS - 60
    os.utime(cache / ".unpack-old", (old, old))
    removed = prune(cache, keep="fedcba9876543210")
    # a folder without a program inside is a broken copy: removed too
    assert sorted(removed) == [".trash-0123456789abcdef-42", ".unpack-old", "0123456789abcdef"]
    assert builds_in(cache) == {".unpack-fresh"}  # another launch may be unpacking it now


def test_an_unwritable_cache_says_which_variable_to_set(tmp_path):
    (one, _) = make_exe(tmp_path, "one")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = launch(one, blocker / "cache")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "set LEOFLOW_CACHE_DIR" in out.stderr, out.stderr


def test_a_noexec_cache_says_which_variable_to_set(tmp_path):
    (one, _) = make_exe(tmp_path, "one")
    mnt = tmp_path / "noexec"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("LEOFLOW_REQUIRE_SERVICES"):
            pytest.fail(f"cannot mount a noexec tmpfs: {mounted.stderr}")
        pytest.skip(f"cannot mount a noexec tmpfs: {mounted.stderr}")
    try:
        out = launch(one, mnt / "cache")
        assert out.returncode == 1
        assert out.stderr.count("\n") == 1 and "noexec" in out.stderr and "LEOFLOW_CACHE_DIR" in out.stderr, out.stderr
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
