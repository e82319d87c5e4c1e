"""Priority weight strategies: `weight_rule="downstream"|"upstream"|"absolute"` or a plugin's class."""

from __future__ import annotations

from typing import Any

BUILTIN = ("downstream", "upstream", "absolute")


class PriorityWeightStrategy:
    """Base class: `get_weight(ti)` gives a task instance's priority weight."""

    def get_weight(self, ti) -> int:
        raise NotImplementedError

    def serialize(self) -> dict:
        return {}

    @classmethod
    def deserialize(cls, data: dict) -> "PriorityWeightStrategy":
        return cls(**data)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(type(self))


class _Builtin(PriorityWeightStrategy):
    rule = ""

    def get_weight(self, ti) -> int:
        raise NotImplementedError("computed from the graph by the DAG parser")


class AbsolutePriorityWeightStrategy(_Builtin):
    rule = "absolute"


class DownstreamPriorityWeightStrategy(_Builtin):
    rule = "downstream"


class UpstreamPriorityWeightStrategy(_Builtin):
    rule = "upstream"


def normalize(weight_rule: Any) -> "str | PriorityWeightStrategy":
    """A built-in rule name, or an instance of a registered strategy class."""
    from leoflow.sdk import plugins

    value = getattr(weight_rule, "value", weight_rule)  # the WeightRule enum
    if isinstance(value, str) and value in BUILTIN:
        return value
    if isinstance(value, _Builtin):
        return value.rule
    if isinstance(value, type) and issubclass(value, PriorityWeightStrategy):
        value = value()
    if isinstance(value, PriorityWeightStrategy):
        plugins.check_weight_strategy_registered(type(value))
        return value
    if isinstance(value, str):
        cls = plugins.priority_weight_strategies.get(value)
        if cls is None:
            # The same class may be registered under its plugin-folder module name.
            short = value.rsplit(".", 1)[-1]
            matches = [c for name, c in plugins.priority_weight_strategies.items()
                       if name.rsplit(".", 1)[-1] == short and value.endswith(c.__module__.split(".")[-1] + "." + short)]
            cls = matches[0] if matches else None
        if cls is None:
            raise ImportError(
                f"Unknown priority strategy {value!r}: use downstream, upstream, absolute or a class "
                "registered by a plugin's `priority_weight_strategies` (plugins folder: LEOFLOW_PLUGINS_FOLDER)"
            )
        return cls()
    raise ValueError(f"weight_rule must be one of {BUILTIN} or a PriorityWeightStrategy, not {weight_rule!r}")


class _StandInTI:
    """What a custom strategy sees at parse time: the task instance's identity and try number."""

    def __init__(self, task, try_number: int):
        self.task = task
        self.task_id = task.task_id
        self.dag_id = task.dag_id
        self.try_number = try_number
        self.map_index = -1
        self.priority_weight = task.priority_weight


def custom_weights(task, strategy: PriorityWeightStrategy) -> list[int]:
    """[weight at try 0 (when the TI is created), try 1, ..., try retries+1]."""
    return [int(strategy.get_weight(_StandInTI(task, n))) for n in range(task.retries + 2)]
