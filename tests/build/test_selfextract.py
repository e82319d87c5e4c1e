"""The one downloadable file unpacks its program once per build, then only starts it."""

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build"))
from selfextract import build  # noqa: E402

sys.path.pop(0)

PROGRAM = '#!/bin/sh\necho "ran with $*"; cat "$(dirname "$0")/data/note"\n'


def make_folder(tmp_path: Path, note: str, name: str = "") -> Path:
    folder = tmp_path / f"onedir-{note}{name}"
    (folder / "data").mkdir(parents=True)
    (folder / "leoflow").write_text(PROGRAM)
    (folder / "leoflow").chmod(0o755)
    (folder / "data" / "note").write_text(note + "\n")
    return folder


def launch(exe: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEOFLOW_CACHE_DIR": str(cache)}
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=30)


def test_first_launch_unpacks_later_ones_reuse_it(tmp_path):
    exe, cache = tmp_path / "leoflow", tmp_path / "cache"
    digest = build(make_folder(tmp_path, "one"), exe, "9.9")
    first = launch(exe, cache, "version", "--x")
    assert first.returncode == 0 and first.stdout == "ran with version --x\none\n", first.stderr
    unpacked = cache / digest / "leoflow"
    assert unpacked.is_file()
    unpacked.write_text('#!/bin/sh\necho "cached copy"\n')  # proof the second launch does not unpack again
    assert launch(exe, cache).stdout == "cached copy\n"
    assert [p.name for p in cache.iterdir()] == [digest]  # no temporary folder left behind


def test_a_new_build_gets_its_own_folder_and_same_input_same_hash(tmp_path):
    exe, cache = tmp_path / "leoflow", tmp_path / "cache"
    one = build(make_folder(tmp_path, "one"), exe, "9.9")
    assert build(make_folder(tmp_path, "one", "-copy"), tmp_path / "again", "9.9") == one
    launch(exe, cache)
    two = build(make_folder(tmp_path, "two"), exe, "9.9")
    assert two != one and launch(exe, cache).stdout.endswith("two\n")
    assert sorted(p.name for p in cache.iterdir()) == sorted([one, two])


def test_launches_racing_on_first_run_all_succeed_and_leave_one_copy(tmp_path):
    exe, cache = tmp_path / "leoflow", tmp_path / "cache"
    digest = build(make_folder(tmp_path, "one"), exe, "9.9")
    results = []
    threads = [threading.Thread(target=lambda: results.append(launch(exe, cache, "x"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0] * 6 and all(r.stdout == "ran with x\none\n" for r in results)
    assert [p.name for p in cache.iterdir()] == [digest]
    assert sorted(p.name for p in (cache / digest).iterdir()) == ["data", "leoflow"]


def test_an_unwritable_cache_fails_with_a_message(tmp_path):
    exe = tmp_path / "leoflow"
    build(make_folder(tmp_path, "one"), exe, "9.9")
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = launch(exe, blocker / "cache")
    assert out.returncode != 0
