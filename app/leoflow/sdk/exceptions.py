"""The exception names DAG files raise and catch (Airflow-compatible)."""

import enum


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


class ErrorType(enum.Enum):
    """What went wrong in a read from the server (Airflow's runtime error kinds)."""

    CONNECTION_NOT_FOUND = "CONNECTION_NOT_FOUND"
    VARIABLE_NOT_FOUND = "VARIABLE_NOT_FOUND"
    XCOM_NOT_FOUND = "XCOM_NOT_FOUND"
    ASSET_NOT_FOUND = "ASSET_NOT_FOUND"
    DAGRUN_ALREADY_EXISTS = "DAGRUN_ALREADY_EXISTS"
    GENERIC_ERROR = "GENERIC_ERROR"
    API_SERVER_ERROR = "API_SERVER_ERROR"


class ErrorResponse:
    """The error a runtime read got: its kind and details (`AirflowRuntimeError.error`)."""

    def __init__(self, error: ErrorType = ErrorType.GENERIC_ERROR, detail: dict | None = None):
        self.error = error
        self.detail = detail

    def __repr__(self) -> str:
        return f"ErrorResponse(error={self.error!r}, detail={self.detail!r})"


class AirflowRuntimeError(Exception):
    """A read at run time failed, e.g. `Variable.get` of a variable that does not exist (as Airflow 3.2,
    this is not a KeyError)."""

    def __init__(self, error: ErrorResponse):
        self.error = error
        super().__init__(f"{error.error.value}: {error.detail}")


def variable_not_found(key: str) -> AirflowRuntimeError:
    return AirflowRuntimeError(ErrorResponse(ErrorType.VARIABLE_NOT_FOUND, {"message": f"Variable {key} not found"}))


class AirflowRescheduleException(AirflowException):
    """A sensor in reschedule mode asks to be run again at `reschedule_date`."""

    def __init__(self, reschedule_date):
        super().__init__()
        self.reschedule_date = reschedule_date


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


class DownstreamTasksSkipped(AirflowException):
    """A branch / short-circuit decided: skip these downstream tasks, then succeed.

    `tasks` holds task ids or `(task_id, map_index)` pairs.
    """

    def __init__(self, tasks):
        super().__init__()
        self.tasks = list(tasks)

    def __str__(self) -> str:
        return f"Skipping downstream tasks: {self.tasks}"


class TaskDeferred(BaseException):
    """Raised by an operator to hand its waiting to a trigger (the triggerer runs it)."""

    def __init__(self, *, trigger, method_name: str, kwargs: dict | None = None, timeout=None):
        super().__init__()
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<TaskDeferred trigger={self.trigger} method={self.method_name}>"


class TaskDeferralError(AirflowException):
    """A deferred task came back with a trigger failure."""


class TaskDeferralTimeout(AirflowException):
    """A deferred task's trigger ran past its timeout."""


class AirflowSensorTimeoutSoft(AirflowSkipException):
    """Internal: a soft-failed sensor timeout ends the task skipped."""


class AirflowConfigException(AirflowException):
    """A configuration value is missing or wrong."""


class AirflowInactiveAssetInInletOrOutletException(AirflowException):
    """An asset named in inlets/outlets is not active."""


class AirflowTimetableInvalid(AirflowException):
    """A timetable's arguments are not valid."""


class AirflowDagDuplicatedIdException(AirflowException):
    """Two files define the same dag_id."""


class TaskAlreadyInTaskGroup(AirflowException):
    """A task was added to a second TaskGroup."""


class AirflowProviderDeprecationWarning(DeprecationWarning):
    """Kept so DAG files that filter this warning still import."""


class XComNotFound(AirflowException):
    """An XCom a task asked for does not exist."""


class DagRunTriggerException(AirflowException):
    """Raised by TriggerDagRunOperator; the task runtime triggers the run through the Execution API."""

    def __init__(self, *, trigger_dag_id: str, dag_run_id: str, conf: dict | None, logical_date,
                 reset_dag_run: bool, skip_when_already_exists: bool, wait_for_completion: bool,
                 allowed_states: list[str], failed_states: list[str], poke_interval: int,
                 deferrable: bool, note: str | None = None):
        super().__init__()
        self.trigger_dag_id = trigger_dag_id
        self.dag_run_id = dag_run_id
        self.conf = conf
        self.logical_date = logical_date
        self.reset_dag_run = reset_dag_run
        self.skip_when_already_exists = skip_when_already_exists
        self.wait_for_completion = wait_for_completion
        self.allowed_states = allowed_states
        self.failed_states = failed_states
        self.poke_interval = poke_interval
        self.deferrable = deferrable
        self.note = note


class DagRunAlreadyExists(AirflowException):
    """The run to trigger exists already."""


class AirflowOptionalProviderFeatureException(AirflowException):
    """A provider feature needs an optional library that is not installed."""


class AirflowBadRequest(AirflowException):
    """A request a hook made was refused as malformed (HTTP 400)."""


class TaskInstanceNotFound(AirflowException):
    """The task instance asked for does not exist."""


class UnmappableXComTypePushed(AirflowException):
    """A mapped task's upstream pushed a value that cannot be expanded."""
