"""reconciler: declarative plan/apply for Webex Calling device configuration."""

from __future__ import annotations

try:  # written by setuptools-scm from the git tag when the package is built or installed
    from reconciler._version import __version__ as __version__
except ImportError:  # a source tree that no build has run in
    __version__ = "0.0.0"
