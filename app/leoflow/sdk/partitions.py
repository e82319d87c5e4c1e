"""Partition mappers for partitioned asset schedules (Airflow 3.2): held as data, described by name."""

from __future__ import annotations


class PartitionMapper:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def serialize(self) -> dict:
        return {"class": type(self).__name__}


class IdentityMapper(PartitionMapper):
    pass


class StartOfHourMapper(PartitionMapper):
    pass


class StartOfDayMapper(PartitionMapper):
    pass


class StartOfWeekMapper(PartitionMapper):
    pass


class StartOfMonthMapper(PartitionMapper):
    pass


class StartOfQuarterMapper(PartitionMapper):
    pass


class StartOfYearMapper(PartitionMapper):
    pass


class ProductMapper(PartitionMapper):
    pass


class ChainMapper(PartitionMapper):
    pass


class AllowedKeyMapper(PartitionMapper):
    pass
