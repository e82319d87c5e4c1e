"""Triggers that wait for a moment in time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from leoflow.sdk import timezone
from leoflow.sdk.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent


class DateTimeTrigger(BaseTrigger):
    """Fires at `moment` (an aware datetime)."""

    def __init__(self, moment: dt.datetime, *, end_from_trigger: bool = False) -> None:
        super().__init__()
        if not isinstance(moment, dt.datetime):
            raise TypeError(f"Expected datetime.datetime type for moment. Got {type(moment)}")
        if moment.tzinfo is None:
            raise ValueError("You cannot pass naive datetimes")
        self.moment = timezone.convert_to_utc(moment)
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("airflow.providers.standard.triggers.temporal.DateTimeTrigger",
                {"moment": self.moment, "end_from_trigger": self.end_from_trigger})

    async def run(self):
        self.log.info("trigger starting")
        for step in (3600, 60, 1):
            while (self.moment - timezone.utcnow()).total_seconds() > step * 2:
                await asyncio.sleep(step)
        while self.moment > timezone.utcnow():
            await asyncio.sleep(min(1, max(0.0, (self.moment - timezone.utcnow()).total_seconds())))
        self.log.info("yielding event with payload %r", self.moment)
        if self.end_from_trigger:
            yield TaskSuccessEvent()
        else:
            yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires `delta` after it was created (serialized as the absolute moment)."""

    def __init__(self, delta: dt.timedelta, *, end_from_trigger: bool = False) -> None:
        super().__init__(moment=timezone.utcnow() + delta, end_from_trigger=end_from_trigger)
