"""The state machine beyond plain edges: mapping, setup/teardown, run state, deadlock, depends_on_past."""

import datetime as dt

import pytest

from leoflow.scheduler import mapping
from leoflow.scheduler.rules import TIView, decide, evaluate_trigger_rule

NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc)


def task(task_id, upstream=(), **extra):
    return {"task_id": task_id, "upstream": list(upstream), "trigger_rule": "all_success", **extra}


def doc(*tasks, groups=None):
    tasks = [dict(t) for t in tasks]
    for t in tasks:
        t["downstream"] = [o["task_id"] for o in tasks if t["task_id"] in o["upstream"]]
    return {"tasks": tasks, "task_groups": groups or {}}


def ti(task_id, state=None, map_index=-1):
    key = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    return TIView(key, task_id, state, 1 if state else 0, 0, NOW, map_index)


LITERAL3 = {"kind": "expand", "args": {"x": {"type": "literal", "length": 3}}}


# -- trigger rules counted per task instance -------------------------------------------

@pytest.mark.parametrize("rule,states,verdict", [
    ("all_done_setup_success", ["success", "failed"], "run"),
    ("all_done_min_one_success", ["success", "failed"], "run"),
    ("all_done_min_one_success", ["failed", "upstream_failed"], "upstream_failed"),
    ("all_done_min_one_success", ["success", "skipped"], "skip"),
    ("one_success", ["upstream_failed", "upstream_failed"], "upstream_failed"),
    ("one_done", ["upstream_failed", "skipped"], "skip"),
    ("none_failed_min_one_success", ["skipped", None], "wait"),
    ("none_failed", ["skipped", "removed"], "run"),
])
def test_more_trigger_rules(rule, states, verdict):
    assert evaluate_trigger_rule(rule, states) == verdict


def test_all_done_setup_success_needs_one_successful_setup():
    assert evaluate_trigger_rule("all_done_setup_success", ["failed", "success"], setup_states=["failed"]) \
        == "upstream_failed"
    assert evaluate_trigger_rule("all_done_setup_success", ["skipped", "success"], setup_states=["skipped"]) == "skip"
    assert evaluate_trigger_rule("all_done_setup_success", ["success", "failed"], setup_states=["success"]) == "run"


# -- mapping -------------------------------------------------------------------------------

def test_literal_mapping_expands_before_anything_runs():
    d = doc(task("m", is_mapped=True, expand=LITERAL3), task("after", ["m"]))
    decision = decide(d, [ti("m"), ti("after")], NOW)
    assert decision.expand == {"m": 3} and decision.run_state is None


def test_every_map_index_must_finish_before_the_downstream_runs():
    d = doc(task("m", is_mapped=True, expand=LITERAL3), task("after", ["m"]))
    tis = [ti("m", "success", 0), ti("m", "running", 1), ti("m", "success", 2), ti("after")]
    assert decide(d, tis, NOW).schedule == []
    tis[1] = ti("m", "failed", 1)
    assert decide(d, tis, NOW).upstream_failed == ["after"]


def test_xcom_mapping_waits_for_the_length_then_expands_or_skips_when_empty():
    expand = {"kind": "expand", "args": {"x": {"type": "xcom", "task_id": "src", "key": "return_value"}}}
    d = doc(task("src"), task("m", ["src"], is_mapped=True, expand=expand))
    assert decide(d, [ti("src", "running"), ti("m")], NOW).expand == {}
    assert decide(d, [ti("src", "success"), ti("m")], NOW, task_map={"src": 4}).expand == {"m": 4}
    empty = decide(d, [ti("src", "success"), ti("m")], NOW, task_map={"src": 0})
    assert empty.skip == ["m"] and empty.run_state == "success"


def test_a_skipped_source_skips_the_unexpanded_task():
    expand = {"kind": "expand", "args": {"x": {"type": "xcom", "task_id": "src", "key": "return_value"}}}
    d = doc(task("src"), task("m", ["src"], is_mapped=True, expand=expand))
    assert decide(d, [ti("src", "skipped"), ti("m")], NOW).skip == ["m"]


def test_mapping_over_a_mapped_task_counts_its_results_once_all_are_done():
    expand = {"kind": "expand", "args": {"x": {"type": "xcom", "task_id": "first", "key": "return_value"}}}
    d = doc(task("first", is_mapped=True, expand=LITERAL3), task("second", ["first"], is_mapped=True, expand=expand))
    tis = [ti("first", "success", 0), ti("first", "running", 1), ti("first", "success", 2), ti("second")]
    assert decide(d, tis, NOW, xcom_counts={"first": 2}).expand == {}
    tis[1] = ti("first", "success", 1)
    assert decide(d, tis, NOW, xcom_counts={"first": 3}).expand == {"second": 3}


def test_tasks_of_a_mapped_group_depend_on_the_same_map_index_only():
    groups = {"g": {"parent_group_id": None, "is_mapped": True, "expand": LITERAL3}}
    d = doc(task("g.a", mapped_group_id="g"), task("g.b", ["g.a"], mapped_group_id="g"), task("end", ["g.b"]))
    tis = [ti("g.a", "success", 0), ti("g.a", "failed", 1), ti("g.a", "running", 2),
           ti("g.b", None, 0), ti("g.b", None, 1), ti("g.b", None, 2), ti("end")]
    decision = decide(d, tis, NOW)
    assert decision.schedule == ["g.b[0]"] and decision.upstream_failed == ["g.b[1]", "end"]


def test_source_lengths():
    def length_of(task_id, key):
        return {"a": 3, "b": 5}.get(task_id)

    xa = {"type": "xcom", "task_id": "a", "key": "return_value"}
    xb = {"type": "xcom", "task_id": "b", "key": "return_value"}
    assert mapping.source_length({"type": "zip", "sources": [xa, xb], "fill": False}, length_of) == 3
    assert mapping.source_length({"type": "zip", "sources": [xa, xb], "fill": True}, length_of) == 5
    assert mapping.source_length({"type": "concat", "sources": [xa, xb]}, length_of) == 8
    assert mapping.source_length({"type": "map", "source": xa}, length_of) == 3
    assert mapping.expand_length({"kind": "expand", "args": {"x": xa, "y": xb}}, length_of) == 15
    missing = {"type": "xcom", "task_id": "c", "key": "return_value"}
    assert mapping.source_length({"type": "concat", "sources": [xa, missing]}, length_of) is None


# -- setup / teardown ------------------------------------------------------------------

def _setup_teardown_dag():
    # setup >> work >> teardown, setup >> teardown (teardown runs even when work fails)
    return doc(task("setup", is_setup=True), task("work", ["setup"]),
               task("teardown", ["setup", "work"], is_teardown=True, trigger_rule="all_done_setup_success"))


def test_teardown_runs_after_a_failure_and_the_run_fails_by_its_work():
    d = _setup_teardown_dag()
    decision = decide(d, [ti("setup", "success"), ti("work", "failed"), ti("teardown")], NOW)
    assert decision.schedule == ["teardown"]
    done = decide(d, [ti("setup", "success"), ti("work", "failed"), ti("teardown", "success")], NOW)
    assert done.run_state == "failed"


def test_a_failed_teardown_does_not_fail_the_run_unless_asked():
    d = _setup_teardown_dag()
    tis = [ti("setup", "success"), ti("work", "success"), ti("teardown", "failed")]
    assert decide(d, tis, NOW).run_state == "success"
    strict = _setup_teardown_dag()
    strict["tasks"][2]["on_failure_fail_dagrun"] = True
    assert decide(strict, tis, NOW).run_state == "failed"


def test_teardown_is_skipped_when_its_setup_was_skipped():
    d = _setup_teardown_dag()
    decision = decide(d, [ti("setup", "skipped"), ti("work"), ti("teardown")], NOW)
    assert set(decision.skip) == {"work", "teardown"}


def test_teardown_waits_for_tasks_between_setup_and_itself():
    d = doc(task("setup", is_setup=True), task("a", ["setup"]), task("b", ["a"]),
            task("teardown", ["setup", "a"], is_teardown=True, trigger_rule="all_done_setup_success"))
    d["tasks"][1]["downstream"] = ["b", "teardown"]
    tis = [ti("setup", "success"), ti("a", "success"), ti("b", "running"), ti("teardown")]
    # b is not upstream of the teardown, so it is not in its scope: the teardown may run
    assert decide(d, tis, NOW).schedule == ["teardown"]
    d2 = doc(task("setup", is_setup=True), task("a", ["setup"]), task("b", ["a"]),
             task("teardown", ["setup", "b"], is_teardown=True, trigger_rule="all_done_setup_success"))
    tis2 = [ti("setup", "success"), ti("a", "running"), ti("b"), ti("teardown")]
    assert decide(d2, tis2, NOW).schedule == []


def test_a_task_waits_for_an_indirect_setup_and_fails_with_it():
    d = doc(task("setup", is_setup=True), task("mid", ["setup"], trigger_rule="all_done"), task("work", ["mid"]),
            task("teardown", ["setup", "work"], is_teardown=True, trigger_rule="all_done_setup_success"))
    decision = decide(d, [ti("setup", "failed"), ti("mid", "success"), ti("work"), ti("teardown")], NOW)
    assert "work" in decision.upstream_failed


# -- run state ---------------------------------------------------------------------------

def test_deadlock_fails_the_run():
    d = doc(task("a"), task("b", ["a"], trigger_rule="one_success"), task("c", ["b"]))
    # an impossible state (b waits although a is done) stands for any graph the rules cannot advance
    decision = decide(d, [ti("a", "removed"), ti("b", "none_such"), ti("c")], NOW)
    assert decision.deadlocked and decision.run_state == "failed"


def test_waiting_for_the_previous_run_is_not_a_deadlock():
    d = doc(task("a", depends_on_past=True), task("b", ["a"]))
    decision = decide(d, [ti("a"), ti("b")], NOW, past_states={("a", -1): "running"})
    assert not decision.deadlocked and decision.run_state is None


def test_depends_on_past_runs_when_the_previous_instance_succeeded_or_did_not_exist():
    d = doc(task("a", depends_on_past=True))
    assert decide(d, [ti("a")], NOW, past_states={("a", -1): "success"}).schedule == ["a"]
    assert decide(d, [ti("a")], NOW, past_states={}).schedule == ["a"]


def test_waiting_states_are_not_a_deadlock():
    d = doc(task("a"), task("b", ["a"]))
    for state in ("deferred", "up_for_reschedule", "queued"):
        decision = decide(d, [ti("a", state), ti("b")], NOW)
        assert not decision.deadlocked and decision.run_state is None


def test_always_runs_without_waiting():
    d = doc(task("a"), task("b", ["a"], trigger_rule="always"))
    assert decide(d, [ti("a", "running"), ti("b")], NOW).schedule == ["b"]


def test_a_branch_decision_skips_map_indexes_the_skip_call_could_not_name():
    d = doc(task("pick"), task("a", ["pick"]), task("m", ["pick"], is_mapped=True, expand=LITERAL3))
    tis = [ti("pick", "success"), ti("a"), ti("m", None, 0), ti("m", None, 1), ti("m", None, 2)]
    decision = decide(d, tis, NOW, branch_results={"pick": {"followed": ["a"]}})
    assert decision.schedule == ["a"] and decision.skip == ["m[0]", "m[1]", "m[2]"]
    short = decide(d, tis, NOW, branch_results={"pick": {"skipped": ["a"]}})
    assert short.skip == ["a"] and set(short.schedule) == {"m[0]", "m[1]", "m[2]"}
    running = [ti("pick", "running")] + tis[1:]
    assert decide(d, running, NOW, branch_results={"pick": {"followed": ["a"]}}).skip == []


def test_an_instance_of_a_task_no_longer_in_the_dag_is_removed_not_a_deadlock():
    d = doc(task("a"))
    decision = decide(d, [ti("a", "success"), ti("gone")], NOW)
    assert decision.remove == ["gone"] and decision.run_state == "success" and not decision.deadlocked


def test_a_mapped_task_that_may_run_but_has_nothing_to_expand_by_is_upstream_failed():
    expand = {"kind": "expand", "args": {"x": {"type": "xcom", "task_id": "src", "key": "return_value"}}}
    d = doc(task("src"), task("m", ["src"], is_mapped=True, expand=expand, trigger_rule="all_done"))
    assert decide(d, [ti("src", "failed"), ti("m")], NOW).upstream_failed == ["m"]


def test_wait_for_downstream_waits_for_the_previous_runs_direct_downstream():
    d = doc(task("a", depends_on_past=True, wait_for_downstream=True), task("b", ["a"]))
    past = {("a", -1): "success", ("b", -1): "failed"}
    assert decide(d, [ti("a"), ti("b")], NOW, past_states=past).schedule == []
    past[("b", -1)] = "success"
    assert decide(d, [ti("a"), ti("b")], NOW, past_states=past).schedule == ["a"]


def test_backoff_jitter_is_airflows():
    # Airflow: floor = ceil(delay * 2 ** (try - 1)); wait floor + sha1("dag#task#logical_date#try") % floor
    import hashlib

    t = {"task_id": "t", "retry_delay": 10, "retry_exponential_backoff": True}
    when = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    expected = 20 + int(hashlib.sha1(b"d#t#2026-01-05 00:00:00+00:00#2").hexdigest(), 16) % 20
    from leoflow.scheduler.rules import retry_due_at

    assert retry_due_at(t, 2, NOW, ("d", when)) == NOW + dt.timedelta(seconds=expected)
    assert 20 <= expected < 40
    assert retry_due_at({**t, "max_retry_delay": 15}, 2, NOW, ("d", when)) == NOW + dt.timedelta(seconds=15)
