"""Secrets: values encrypted at rest with a Fernet key, and masked wherever they would be shown."""
