"""Demo mode's cookie key: random, made once per installation, kept in its data folder.

A key derived from something an outsider can guess (the database URL, the project path) would let
anyone sign an admin cookie. This key comes from :mod:`secrets`, is written once to
``<data dir>/.demo_cookie_key`` with owner-only permissions (0600) and read back on every later
start, so cookies survive a restart while two installations never share a key.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path
from typing import Final

DEMO_KEY_FILE: Final = ".demo_cookie_key"
_KEY_PATTERN: Final = re.compile(r"^[0-9a-f]{64}$")


class DemoKeyError(RuntimeError):
    """The key file exists but does not hold a key this module wrote."""


def installation_demo_key(data_dir: str | Path) -> str:
    """This installation's demo cookie key, creating it (0600) on first use.

    Two processes starting at once agree on one key: the new key is written to a private
    temporary file and hard-linked into place, which fails if another process got there first.

    Raises
    ------
    DemoKeyError
        The file exists but is not a key (edited or damaged): delete it to get a new one.
    """
    folder = Path(data_dir)
    path = folder / DEMO_KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _create(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)  # readable by the owner only, whatever the umask was
    key = path.read_text(encoding="ascii", errors="replace").strip()
    if not _KEY_PATTERN.match(key):
        raise DemoKeyError(f"{path} does not hold a demo cookie key; delete it and restart to make a new one")
    return key


def _create(path: Path) -> None:
    temporary = path.with_name(f"{DEMO_KEY_FILE}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made the key first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
