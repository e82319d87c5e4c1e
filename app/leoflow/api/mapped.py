"""GET/PATCH .../taskInstances/{task_id}/{map_index}: kept in their own family, registered last,
because that path shape matches any two segments (`.../tries`, `.../links`, ...)."""

from .ti_state import MAPPED_ROUTES as ROUTES  # noqa: F401
