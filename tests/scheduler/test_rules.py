"""The state machine as a pure function: trigger rules, retries, run outcome."""

import datetime as dt

import pytest

from leoflow.scheduler.rules import TIView, decide, evaluate_trigger_rule, retry_due_at

NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc)


def dag(*edges, rules=None, retries=None):
    """Tasks from 'a>b' edges; every named task exists."""
    names, ups = [], {}
    for edge in edges:
        parts = edge.split(">")
        for p in parts:
            if p not in names:
                names.append(p)
                ups[p] = []
        for a, b in zip(parts, parts[1:]):
            ups[b].append(a)
    tasks = []
    for n in names:
        tasks.append({"task_id": n, "upstream": ups[n], "downstream": [m for m in names if n in ups[m]],
                      "trigger_rule": (rules or {}).get(n, "all_success"), "retry_delay": 10})
    return {"tasks": tasks}


def tis(**states):
    return [TIView(id=k, task_id=k, state=v, try_number=1 if v else 0, max_tries=0, end_date=NOW)
            for k, v in states.items()]


def test_roots_are_scheduled_first():
    d = decide(dag("a>b>c"), tis(a=None, b=None, c=None), NOW)
    assert d.schedule == ["a"] and d.run_state is None


def test_success_unlocks_downstream():
    d = decide(dag("a>b>c"), tis(a="success", b=None, c=None), NOW)
    assert d.schedule == ["b"]


def test_failure_cascades_upstream_failed_in_one_pass_and_fails_the_run():
    d = decide(dag("a>b>c"), tis(a="failed", b=None, c=None), NOW)
    assert d.upstream_failed == ["b", "c"]
    assert d.run_state == "failed"


def test_skip_cascades_and_run_succeeds():
    d = decide(dag("a>b>c"), tis(a="skipped", b=None, c=None), NOW)
    assert d.skip == ["b", "c"] and d.run_state == "success"


def test_all_done_runs_after_a_failure_and_a_leaf_success_means_success():
    d = decide(dag("a>b", rules={"b": "all_done"}), tis(a="failed", b=None), NOW)
    assert d.schedule == ["b"]
    d = decide(dag("a>b", rules={"b": "all_done"}), tis(a="failed", b="success"), NOW)
    assert d.run_state == "success"


@pytest.mark.parametrize("rule,states,verdict", [
    ("all_success", ["success", "success"], "run"),
    ("all_success", ["success", "running"], "wait"),
    ("all_success", ["success", "upstream_failed"], "upstream_failed"),
    ("all_success", ["success", "skipped"], "skip"),
    ("all_failed", ["failed", "upstream_failed"], "run"),
    ("all_failed", ["failed", "success"], "skip"),
    ("all_done", ["failed", "skipped"], "run"),
    ("all_skipped", ["skipped", "skipped"], "run"),
    ("all_skipped", ["skipped", "success"], "skip"),
    ("one_success", ["success", "running"], "run"),
    ("one_success", ["failed", "skipped"], "upstream_failed"),
    ("one_success", ["skipped", "skipped"], "skip"),
    ("one_failed", ["failed", None], "run"),
    ("one_failed", ["success", "success"], "skip"),
    ("one_done", ["failed", None], "run"),
    ("one_done", ["skipped", "skipped"], "skip"),
    ("none_failed", ["success", "skipped"], "run"),
    ("none_failed", ["success", "failed"], "upstream_failed"),
    ("none_failed_min_one_success", ["skipped", "success"], "run"),
    ("none_failed_min_one_success", ["skipped", "skipped"], "skip"),
    ("none_skipped", ["success", "failed"], "run"),
    ("none_skipped", ["success", "skipped"], "skip"),
    ("always", [None, None], "run"),
])
def test_trigger_rules(rule, states, verdict):
    assert evaluate_trigger_rule(rule, states) == verdict


def test_unknown_trigger_rule_is_an_error():
    with pytest.raises(ValueError, match="unknown trigger rule"):
        evaluate_trigger_rule("sometimes", ["success"])


def test_retry_waits_for_its_delay_then_is_scheduled():
    d = dag("a>b")
    waiting = [TIView("a", "a", "up_for_retry", 1, 1, NOW), TIView("b", "b", None, 0, 0, None)]
    early = decide(d, waiting, NOW + dt.timedelta(seconds=5))
    assert early.schedule == [] and early.next_check == NOW + dt.timedelta(seconds=10)
    due = decide(d, waiting, NOW + dt.timedelta(seconds=10))
    assert due.schedule == ["a"]


def test_exponential_backoff_is_capped():
    task = {"retry_delay": 10, "retry_exponential_backoff": True, "max_retry_delay": 25}
    assert retry_due_at(task, 1, NOW) == NOW + dt.timedelta(seconds=10)
    assert retry_due_at(task, 2, NOW) == NOW + dt.timedelta(seconds=20)
    assert retry_due_at(task, 3, NOW) == NOW + dt.timedelta(seconds=25)
