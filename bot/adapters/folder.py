"""A mailbox kept as plain folders of .eml files: the demo's (and a replay's) stand-in for IMAP.

Layout: ROOT/<folder>/*.eml. A message's UID is its position in name order, counted from 1, so
new files must sort after old ones (the demo names them by time). UIDVALIDITY is fixed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from email.parser import BytesHeaderParser
from pathlib import Path

from bot.ports import FetchedMessage

FOLDER_UIDVALIDITY = 1


class FolderMailbox:
    """Implements bot.ports.Mailbox over ROOT/<folder>/*.eml."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _files(self, folder: str) -> list[Path]:
        return sorted((self.root / folder).glob("*.eml"))

    def uidvalidity(self, folder: str) -> int:
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        return FOLDER_UIDVALIDITY

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        return list(range(last_uid + 1, len(self._files(folder)) + 1))

    def fetch(self, folder: str, uids: Sequence[int]) -> Iterator[FetchedMessage]:
        files = self._files(folder)
        for uid in uids:
            yield FetchedMessage(uid, files[uid - 1].read_bytes())

    def wait_for_news(self, folder: str, timeout: float) -> bool:
        before = len(self._files(folder))
        time.sleep(timeout)
        return len(self._files(folder)) != before

    def deliver(self, folder: str, raw: bytes) -> Path:
        """Add a message after the folder's last one (the demo's customers 'send' this way)."""
        target = self.root / folder
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{len(self._files(folder)) + 1:06d}.eml"
        path.write_bytes(raw)
        return path

    # bot.ports.SentFolder, so the outbox can send exactly once through this mailbox too

    def search_message_id(self, folder: str, message_id: str) -> bool:
        wanted = f"<{message_id}>"
        parser = BytesHeaderParser()
        for path in self._files(folder):
            with path.open("rb") as handle:
                if (parser.parse(handle).get("Message-ID") or "").strip() == wanted:
                    return True
        return False

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ()) -> int | None:
        self.deliver(folder, raw)
        return len(self._files(folder))
