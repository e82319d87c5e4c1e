from .bus import SCHEDULER_QUEUE, Bus, MemoryBus, connect

__all__ = ["Bus", "MemoryBus", "SCHEDULER_QUEUE", "connect"]
