"""liveseg: real-time video semantic segmentation for CPUs and edge devices."""

__version__ = "0.1.0"

from liveseg.errors import LivesegError  # noqa: E402,F401
