from .routes import execution_routes

__all__ = ["execution_routes"]
