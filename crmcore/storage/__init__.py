"""Storage: the declarative base shared by the kernel and plugins, column types, engines and migrations."""
from .base import Base, JSONType, UTCDateTime  # noqa: F401
