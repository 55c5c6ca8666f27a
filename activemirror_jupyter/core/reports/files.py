"""Exports on disk: the file an export goes to (a path, or ``<title>.<ext>`` in a folder),
written through a temporary file so a failed export leaves nothing half-written, and the
``attachments/`` folder a Markdown export links to.

Every file written here (exports, reports, backups) is a new file renamed into place: a
symbolic link found at its path is replaced, never written through. It gets the permissions
of the file it replaces, else those of the user's umask; and temporary files that a killed
export left in the folder are removed (:func:`~..fsutil.remove_abandoned`)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .. import fsutil
from ..models import Attachment

#: The file extension of each export format.
EXTENSIONS = {"json": ".json", "markdown": ".md", "txt": ".txt", "html": ".html", "ipynb": ".ipynb"}
#: The folder, next to a Markdown export, that holds its attachments.
ATTACHMENTS_FOLDER = "attachments"

_MIME_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/html": ".html",
    "application/json": ".json",
    "application/pdf": ".pdf",
}
_UNSAFE = re.compile(r"[^\w .,()+=@#\[\]-]+")
#: Characters that show nothing, or change how the rest reads: control characters, bidi
#: controls (U+202E shows ``gnp.exe.md`` as ``dm.exe.png``), zero-width characters.
_INVISIBLE = {"Cc", "Cf", "Cs"}


def is_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a folder: it ends with a separator or is one already."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).expanduser().is_dir()


def visible(title: str) -> str:
    """``title`` as a file name may show it: line breaks and other white space become
    single spaces; bidi controls, other control and format characters are left out. Every
    file name made from a title (exports here, download names in the server) starts here."""
    kept = (
        " " if char.isspace() else char
        for char in title
        if char.isspace() or unicodedata.category(char) not in _INVISIBLE
    )
    return " ".join("".join(kept).split())


def file_stem(title: str, fallback: str) -> str:
    """A file name made from a session's title (:func:`visible`): path separators and the
    like become ``_``; ``fallback`` (the id) when nothing is left."""
    stem = " ".join(_UNSAFE.sub("_", visible(title)).split()).strip(" ._")
    return stem[:100].rstrip(" ._") or fallback


def target_file(path: str | os.PathLike[str], title: str, session_id: str, format: str) -> Path:
    """Where an export goes: ``path`` itself, or ``<title>.<ext>`` inside it if it is a folder."""
    target = Path(path).expanduser()
    if is_folder(path):
        return target / (file_stem(title, session_id) + EXTENSIONS[format])
    return target


@contextlib.contextmanager
def replacing(path: Path, *, create_folders: bool = False) -> Iterator[TextIO]:
    """A text stream (UTF-8, ``\\n`` line ends) whose content replaces ``path`` when the
    block ends without an error; on an error ``path`` is left as it was. The folder must
    exist, unless ``create_folders``."""
    if create_folders:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path.parent))
    fsutil.remove_abandoned(path.parent)
    with fsutil.replacing(path, mode=fsutil.LIKE_REPLACED) as out:
        yield out


class AttachmentFolder:
    """Writes attachments into ``folder`` and returns their link relative to the export:
    ``attachments/<name>-<first 12 hex of sha256><ext>`` (the same bytes, one file)."""

    def __init__(self, folder: Path, link_prefix: str = ATTACHMENTS_FOLDER) -> None:
        self.folder = folder
        self.link_prefix = link_prefix
        self.written: list[Path] = []
        self._prepared = False

    def __call__(self, attachment: Attachment, data: bytes) -> str:
        name = file_name(attachment)
        path = self.folder / name
        if not self._prepared:
            self._prepare()
        if not _is_file_of_size(path, len(data)):
            fsutil.atomic_write(path, data, mode=fsutil.LIKE_REPLACED)
            self.written.append(path)
        return f"{self.link_prefix}/{name}"

    def _prepare(self) -> None:
        """Make the folder (a link in its place is refused: the files would land wherever
        it points) and remove what killed exports left in it."""
        if self.folder.is_symlink():
            raise FileExistsError(
                errno.EEXIST,
                "is a symbolic link, not a folder; remove it to export the attachments here",
                str(self.folder),
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        fsutil.remove_abandoned(self.folder)
        self._prepared = True


def _is_file_of_size(path: Path, size: int) -> bool:
    """Whether ``path`` is a regular file (not a link to one) of ``size`` bytes: the
    attachment already written, as its name holds its hash."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def file_name(attachment: Attachment) -> str:
    """An attachment's file name: its name (an id: safe in a path) with its content's
    hash and an extension for its type."""
    stem, suffix = os.path.splitext(attachment.name)
    extension = _MIME_EXTENSIONS.get(attachment.bare_type) or suffix or ".bin"
    base = stem if suffix.lower() == extension else attachment.name
    return f"{base}-{attachment.sha256[:12]}{extension}"
