"""`airflow.timetables.*`: the timetable classes and their value types."""

from leoflow.sdk.timetables import *  # noqa: F401,F403
from leoflow.sdk.timetables import (  # noqa: F401
    AssetOrTimeSchedule, AssetTriggeredTimetable, ContinuousTimetable, CronDataIntervalTimetable,
    CronPartitionTimetable, CronTriggerTimetable, DagRunInfo, DataInterval, DeltaDataIntervalTimetable,
    DeltaTriggerTimetable, EventsTimetable, MultipleCronTriggerTimetable, NullTimetable, OnceTimetable,
    PartitionedAssetTimetable, TimeRestriction, Timetable,
)
