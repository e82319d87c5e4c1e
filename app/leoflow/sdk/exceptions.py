"""The exception names DAG files raise and catch (Airflow-compatible)."""


class AirflowException(Exception):
    """Base of every error a task or DAG file may raise on purpose."""


class AirflowSkipException(AirflowException):
    """Raised in a task to mark it skipped."""


class AirflowFailException(AirflowException):
    """Raised in a task to fail it without retrying."""


class AirflowTaskTimeout(AirflowException):
    """The task ran past its execution_timeout."""


class AirflowSensorTimeout(AirflowException):
    """A sensor gave up waiting."""


class AirflowNotFoundException(AirflowException):
    """A variable or connection does not exist."""


class AirflowRescheduleException(AirflowException):
    """A sensor asks to be run again later (not supported by Leoflow yet)."""


class DuplicateTaskIdFound(AirflowException):
    """Two tasks in one DAG share a task_id."""


class AirflowDagCycleException(AirflowException):
    """The task graph has a cycle."""


class TaskNotFound(AirflowException):
    """A task id is not in the DAG."""


class ParamValidationError(AirflowException):
    """A DAG param value is not valid."""


class RemovedInAirflow4Warning(DeprecationWarning):
    """Kept so DAG files that filter this warning still import."""
