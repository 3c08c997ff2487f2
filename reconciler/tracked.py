"""Local state is never reviewed input: an apply log, a lock, a parse cache or a saved plan that the
repository's git tracks is refused (or ignored with a warning).

Such files are written by a run on one machine for the next run on the same machine. In a
repository they arrive with a commit, and a commit is not what anybody reviewed as a plan: a log in
the checkout would otherwise tell the apply-on-merge workflow what to do.
"""

from __future__ import annotations

import os
import subprocess

from reconciler.errors import ConfigError


def is_tracked(path: str) -> bool:
    """Whether git tracks ``path`` (the file, or the symlink at that name) in the repository its
    directory belongs to. False outside a repository, without git, or for a path that is absent."""
    if not os.path.lexists(path):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", os.path.basename(path)],
            cwd=directory,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def refuse_tracked(path: str, what: str) -> None:
    """Refuse (``ConfigError``) the local-state file ``path`` (``what`` it is: "apply log") when git
    tracks it."""
    if is_tracked(path):
        raise ConfigError(
            f"{what} {path} is tracked by git: local state is never reviewed input, so it is not "
            f"read. Remove it from the repository (git rm --cached {path}) and keep it out "
            "(.gitignore), or name another file"
        )
