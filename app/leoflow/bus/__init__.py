from .bus import SCHEDULER_QUEUE, Bus, connect

__all__ = ["Bus", "SCHEDULER_QUEUE", "connect"]
