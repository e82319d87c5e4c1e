"""Trigger rules: when a task may run given its upstream states."""

from enum import Enum


class TriggerRule(str, Enum):
    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    ALL_SKIPPED = "all_skipped"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def is_valid(cls, value) -> bool:
        return value in cls.all_triggers()

    @classmethod
    def all_triggers(cls) -> set[str]:
        return {rule.value for rule in cls}


def normalize(value) -> str:
    """Accept the enum or its string; reject anything else with the valid list."""
    text = value.value if isinstance(value, TriggerRule) else value
    if not TriggerRule.is_valid(text):
        raise ValueError(
            f"The trigger_rule must be one of {sorted(TriggerRule.all_triggers())}, not {value!r}"
        )
    return text
