"""`airflow.providers.standard.exceptions`: what the standard provider's sensors and human-in-the-loop
operators raise, so code that catches them (Google's Composer sensor, users' callbacks) can name them.
All but the human-in-the-loop ones are AirflowExceptions, as in the standard provider."""

from __future__ import annotations

from leoflow.sdk.exceptions import AirflowException


class AirflowExternalTaskSensorException(AirflowException):
    """ExternalTaskSensor could not go on."""


class ExternalDagNotFoundError(AirflowExternalTaskSensorException):
    """The external DAG does not exist."""


class ExternalDagDeletedError(AirflowExternalTaskSensorException):
    """The external DAG was deleted."""


class ExternalTaskNotFoundError(AirflowExternalTaskSensorException):
    """The external task does not exist."""


class ExternalTaskGroupNotFoundError(AirflowExternalTaskSensorException):
    """The external task group does not exist."""


class ExternalTaskFailedError(AirflowExternalTaskSensorException):
    """An external task reached one of the failed states."""


class ExternalTaskGroupFailedError(AirflowExternalTaskSensorException):
    """The external task group reached one of the failed states."""


class ExternalDagFailedError(AirflowExternalTaskSensorException):
    """The external DAG run reached one of the failed states."""


class DuplicateStateError(AirflowExternalTaskSensorException):
    """A state is both allowed and failed (or skipped)."""


class HITLTriggerEventError(AirflowException):
    """The human-in-the-loop trigger reported an error."""


class HITLTimeoutError(HITLTriggerEventError):
    """Nobody answered in time."""


class HITLRejectException(AirflowException):
    """An approval was rejected."""
