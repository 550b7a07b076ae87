"""Writing files all at once: pictures, JSON exports and players never end half-written.

A failed write leaves an existing file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` all at once: a temporary file, then a rename.

    A symlink is followed (the link stays, its target is replaced) and an old file keeps its
    permissions. What is not a regular file (/dev/stdout, a pipe) is a stream, written into:
    a rename would destroy it.

    Args:
        path: the file to write; its folder must exist.
        data: the content, bytes or text.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        OSError: the folder does not exist or is not writable.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomically(target, "hello").read_text()
        'hello'
    """
    path = Path(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    if path.exists() and not path.is_file():
        with open(path, "wb") as stream:
            stream.write(content)
        return path
    target = path.resolve()
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o644  # mkstemp's 0o600 would hide a new file from its usual readers
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise _about(error, path) from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _about(error, path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _about(error: OSError, path: Path) -> OSError:
    """``error`` naming ``path``, the file asked for, rather than the hidden temporary one."""
    if error.errno is None:
        return error
    # OSError(errno, ...) builds the matching subclass (PermissionError, ...).
    return OSError(error.errno, error.strerror, str(path))
