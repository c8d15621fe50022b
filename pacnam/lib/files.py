"""Files that hold personal data: created readable by their owner only."""

import os


def open_private(path, mode: str = "wb", **kwargs):
    """Open `path` for writing, readable by its owner only (0600) before the first
    byte is written, whether the file is new or already there (an existing file
    keeps its mode through open(): it is made private first)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
