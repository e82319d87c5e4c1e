"""Triggers the triggerer tests import by classpath (duck-typed as Airflow's BaseTrigger/TriggerEvent)."""

import asyncio
import datetime as dt


class Event:
    def __init__(self, payload):
        self.payload = payload


class SleepTrigger:
    def __init__(self, seconds: float, moment: dt.datetime | None = None):
        self.seconds, self.moment = seconds, moment

    def serialize(self):
        return f"{__name__}.SleepTrigger", {"seconds": self.seconds, "moment": self.moment}

    async def run(self):
        await asyncio.sleep(self.seconds)
        yield Event({"slept": self.seconds, "moment": self.moment})


class BrokenTrigger:
    def __init__(self):
        pass

    async def run(self):
        raise RuntimeError("the trigger broke")
        yield  # pragma: no cover


class SilentTrigger:
    async def run(self):
        return
        yield  # pragma: no cover


class ForeverTrigger:
    cancelled = 0

    async def run(self):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            ForeverTrigger.cancelled += 1
            raise
        yield Event(None)  # pragma: no cover


class EndEvent(Event):
    task_instance_state = "success"

    def __init__(self, xcoms):
        super().__init__("success")
        self.xcoms = xcoms


class EndTrigger:
    async def run(self):
        yield EndEvent({"return_value": {"done": True}})
