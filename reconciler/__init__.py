"""reconciler: declarative plan/apply for Webex Calling device configuration."""

from __future__ import annotations

__version__ = "0.1.0"
