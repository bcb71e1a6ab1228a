"""IMAP mailbox adapter (IMAPClient): implements bot.ports.Mailbox.

Reads never change the mailbox: folders are opened with EXAMINE (read-only) and bodies are
fetched with BODY.PEEK[], so nothing is marked \\Seen (RFC 3501 6.3.2, 6.4.5). Idempotent
reads are retried after a dropped connection with a bounded exponential backoff; APPEND is
not (a blind retry could store a message twice), the caller decides.
Errors come out as bot.errors.MailboxUnavailableError (temporary) or MailboxError /
MailboxLoginError (permanent), each naming the mailbox.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from bot.errors import MailboxError, MailboxLoginError, MailboxUnavailableError
from bot.ports import FetchedMessage

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
T = TypeVar("T")
# Anything that means "the connection is gone or the server is not there (yet)".
TEMPORARY_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes socket.timeout, ConnectionRefusedError, ssl.SSLError (not verify errors)
    IMAPClientAbortError,
    imaplib.IMAP4.abort,
    EOFError,
)
APPENDUID_RE = re.compile(rb"\[APPENDUID \d+ (\d+)\]", re.IGNORECASE)
FETCH_BYTES = 16 * 1024 * 1024  # one FETCH of bodies holds at most about this much mail
IDLE_SLICE = 1.0  # seconds between checks of the stop event while idling
POLL_EVERY = 2.0  # seconds between NOOPs when the server has no IDLE


@dataclass(frozen=True, slots=True, kw_only=True)
class ImapSettings:
    """How to reach one account. `name` is the config's mailbox name, used in every message."""

    name: str
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    tls_verify: bool = True
    ca_file: Path | None = None
    timeout: float = 60.0  # socket timeout for connect and every command but IDLE


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Reconnect delays: first, first*factor, ... capped at `cap`, at most `attempts` tries."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    attempts: int = 6

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.attempts - 1):
            yield min(delay, self.cap)
            delay *= self.factor


def tls_context(settings: ImapSettings) -> ssl.SSLContext:
    """Verifying context (system CAs or ca_file); without verification only when tls_verify is false."""
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapMailbox:
    """One IMAP account, one connection, used from one thread at a time."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        backoff: Backoff = Backoff(),
        fetch_batch: int = 100,
        stop: threading.Event | None = None,
        idle: bool = True,
    ) -> None:
        self.settings = settings
        self.idle = idle  # False: poll with NOOP even when the server offers IDLE
        self.backoff = backoff
        self.fetch_batch = fetch_batch
        self.stop = stop or threading.Event()  # set it to end an IDLE or a backoff wait early
        self._client: IMAPClient | None = None
        self._selected: str | None = None
        self._uidvalidity: dict[str, int] = {}

    # ---- connection -------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (politely if the connection still works) and forget the connection."""
        client, self._client, self._selected = self._client, None, None
        if client is None:
            return
        try:
            client.logout()
        except (*TEMPORARY_ERRORS, IMAPClientError):  # a dead connection cannot log out
            _shutdown(client)

    def _connect(self) -> IMAPClient:
        s = self.settings
        try:
            ctx = tls_context(s) if s.security != "none" else None
            client = IMAPClient(
                s.host, port=s.port, ssl=s.security == "ssl", ssl_context=ctx, timeout=s.timeout
            )
        except ssl.SSLCertVerificationError as exc:
            raise self._tls_error(exc) from exc
        try:
            if s.security == "starttls":
                client.starttls(ctx)
            client.login(s.username, s.password)
        except LoginError as exc:
            _shutdown(client)
            raise MailboxLoginError(
                s.name, f"login as {s.username!r} on {s.host}:{s.port} refused: {_text(exc)}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            _shutdown(client)
            raise self._tls_error(exc) from exc
        except BaseException:
            _shutdown(client)
            raise
        log.info("imap %s: connected to %s:%d (%s)", s.name, s.host, s.port, s.security)
        return client

    def _tls_error(self, exc: ssl.SSLCertVerificationError) -> MailboxError:
        s = self.settings
        return MailboxError(
            s.name,
            f"TLS certificate of {s.host}:{s.port} not trusted ({exc.verify_message}); "
            "set imap.ca_file, or tls_verify: false for a self-signed test server",
        )

    def _conn(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            _shutdown(client)

    def _retrying(self, what: str, op: Callable[[IMAPClient], T]) -> T:
        """Run op on a live connection; after a drop reconnect with backoff and run it again."""
        delays = self.backoff.delays()
        while True:
            try:
                return op(self._conn())
            except MailboxError:
                raise
            except TEMPORARY_ERRORS as exc:
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise self._tls_error(exc) from exc
                self._drop()
                delay = next(delays, None)
                if delay is None or self.stop.is_set():
                    raise MailboxUnavailableError(
                        self.settings.name,
                        f"{what}: {_text(exc)} (gave up after {self.backoff.attempts} tries)",
                    ) from exc
                log.warning(
                    "imap %s: %s failed (%s); reconnecting in %.1fs",
                    self.settings.name,
                    what,
                    _text(exc),
                    delay,
                )
                self.stop.wait(delay)
            except (
                IMAPClientError
            ) as exc:  # a NO or BAD answer: retrying the same command won't help
                raise MailboxError(self.settings.name, f"{what}: {_text(exc)}") from exc

    def _select(self, client: IMAPClient, folder: str, *, fresh: bool = False) -> None:
        if self._selected == folder and not fresh:
            return
        self._selected = None
        info: dict[bytes, Any] = client.select_folder(folder, readonly=True)
        _early_news(client)  # SELECT's own counts: what a search now sees, not news
        self._selected = folder
        uidvalidity = int(info[b"UIDVALIDITY"])
        old = self._uidvalidity.setdefault(folder, uidvalidity)
        if old != uidvalidity:  # the UIDs we were given belong to another generation of the folder
            self._uidvalidity[folder] = uidvalidity
            raise MailboxUnavailableError(
                self.settings.name, f"UIDVALIDITY of {folder} changed from {old} to {uidvalidity}"
            )

    # ---- bot.ports.Mailbox ---------------------------------------------------------------
    def uidvalidity(self, folder: str) -> int:
        """Select the folder afresh (so later searches see new mail) and return its UIDVALIDITY."""
        self._uidvalidity.pop(folder, None)

        def op(client: IMAPClient) -> int:
            self._uidvalidity.pop(folder, None)
            self._select(client, folder, fresh=True)
            return self._uidvalidity[folder]

        return self._retrying(f"SELECT {folder}", op)

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        """UIDs > last_uid, ascending. `UID SEARCH UID n:*` always matches the highest UID, even
        below n (RFC 3501 6.4.8: "*" is the largest UID in use), so the result is filtered."""

        def op(client: IMAPClient) -> list[int]:
            self._select(client, folder)
            found: list[int] = client.search(["UID", f"{last_uid + 1}:*"])
            return sorted(uid for uid in found if uid > last_uid)

        return self._retrying(f"UID SEARCH {folder}", op)

    def fetch(self, folder: str, uids: Sequence[int]) -> Iterator[FetchedMessage]:
        """BODY.PEEK[] of these UIDs in batches of `fetch_batch` (and of about FETCH_BYTES), in the
        order given. UIDs that
        have vanished (expunged meanwhile) are skipped."""
        for start in range(0, len(uids), self.fetch_batch):
            chunk = list(uids[start : start + self.fetch_batch])
            sizes = self._retrying(
                f"UID FETCH {folder} RFC822.SIZE", _bind(self._sizes, folder, chunk)
            )
            for part in _by_size(chunk, sizes, FETCH_BYTES):
                data = self._retrying(f"UID FETCH {folder}", _bind(self._fetch_chunk, folder, part))
                for uid in part:
                    raw = data.pop(uid, None)
                    if raw is not None:
                        yield FetchedMessage(uid=uid, raw=raw)

    def _sizes(self, client: IMAPClient, folder: str, chunk: list[int]) -> dict[int, int]:
        self._select(client, folder)
        answer: dict[int, dict[bytes, Any]] = client.fetch(chunk, ["RFC822.SIZE"])
        return {uid: int(item.get(b"RFC822.SIZE", 0)) for uid, item in answer.items()}

    def _fetch_chunk(self, client: IMAPClient, folder: str, chunk: list[int]) -> dict[int, bytes]:
        self._select(client, folder)
        answer: dict[int, dict[bytes, Any]] = client.fetch(chunk, ["BODY.PEEK[]"])
        return {uid: bytes(item[b"BODY[]"]) for uid, item in answer.items() if b"BODY[]" in item}

    def wait_for_news(self, folder: str, timeout: float) -> bool:
        """Block up to `timeout` seconds (less if `stop` is set) until the folder may have new
        mail: IDLE (RFC 2177) when offered, else a NOOP every few seconds. True if it did, and
        at once after a reconnect (mail may have come while the connection was down)."""
        tries = 0

        def op(client: IMAPClient) -> bool:
            nonlocal tries
            tries += 1
            if tries > 1:
                return True
            self._select(client, folder)
            if self.idle and client.has_capability("IDLE"):
                return self._idle(client, timeout)
            return self._poll(client, timeout)

        return self._retrying(f"IDLE {folder}", op)

    def _idle(self, client: IMAPClient, timeout: float) -> bool:
        if _early_news(client):  # an earlier command's answer announced mail it did not show
            return True
        deadline = time.monotonic() + timeout
        client.idle()
        news = _early_news(client)  # announced just before "+ idling"
        try:
            while not news and not self.stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                news = _has_news(_idle_check(client, min(IDLE_SLICE, left)))
        finally:
            client.idle_done()
        return news

    def _poll(self, client: IMAPClient, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            _, responses = client.noop()
            if _has_news(responses):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.stop.wait(min(POLL_EVERY, left))
        return False

    # ---- for the sending side -------------------------------------------------------------
    def search_message_id(self, folder: str, message_id: str) -> bool:
        """Whether the folder holds a message with this Message-ID (with or without <>)."""
        wanted = f"<{message_id.strip().strip('<>')}>"

        def op(client: IMAPClient) -> bool:
            self._select(client, folder, fresh=True)
            return bool(client.search(["HEADER", "Message-ID", wanted]))

        return self._retrying(f"SEARCH {folder} Message-ID", op)

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = (r"\Seen",)) -> int | None:
        """APPEND raw to folder; returns the new UID when the server says (UIDPLUS), else None.
        Not retried: after a drop the caller searches the folder for the Message-ID first."""
        try:
            answer = self._conn().append(folder, raw, flags=tuple(flags))
        except MailboxError:
            raise
        except TEMPORARY_ERRORS as exc:
            self._drop()
            raise MailboxUnavailableError(
                self.settings.name, f"APPEND {folder}: {_text(exc)}"
            ) from exc
        except IMAPClientError as exc:
            raise MailboxError(self.settings.name, f"APPEND {folder}: {_text(exc)}") from exc
        found = APPENDUID_RE.search(answer if isinstance(answer, bytes) else str(answer).encode())
        return int(found.group(1)) if found else None


def _by_size(uids: list[int], sizes: dict[int, int], max_bytes: int) -> Iterator[list[int]]:
    """The UIDs in runs of about `max_bytes` of mail (a bigger message goes alone), so one
    FETCH never holds a chunk of large attachments in memory at once."""
    part: list[int] = []
    used = 0
    for uid in uids:
        if part and used + sizes.get(uid, 0) > max_bytes:
            yield part
            part, used = [], 0
        part.append(uid)
        used += sizes.get(uid, 0)
    if part:
        yield part


def _bind(
    fn: Callable[[IMAPClient, str, list[int]], T], folder: str, chunk: list[int]
) -> Callable[[IMAPClient], T]:
    return lambda client: fn(client, folder, chunk)


def _idle_check(client: IMAPClient, slice_: float) -> list[Any]:
    """idle_check that notices a dead connection: IMAPClient swallows EOF there and keeps
    returning nothing at once, so a BYE (RFC 3501 7.1.5) or an instant empty answer is a drop."""
    began = time.monotonic()
    responses: list[Any] = client.idle_check(timeout=slice_)
    bye = [r for r in responses if isinstance(r, tuple) and r[:1] == (b"BYE",)]
    if bye:
        raise IMAPClientAbortError(f"server said BYE during IDLE: {_words(bye[0][1:])}")
    if not responses and slice_ >= 0.2 and time.monotonic() - began < slice_ / 2:
        raise IMAPClientAbortError("connection closed during IDLE")
    return responses


def _words(parts: Sequence[Any]) -> str:
    return " ".join(p.decode(errors="replace") if isinstance(p, bytes) else str(p) for p in parts)


def _early_news(client: IMAPClient) -> bool:
    """Take the EXISTS/RECENT announced outside IDLE since the last look. A server may announce
    new mail in the answer to a command that did not yet see it (Dovecot does, with SEARCH);
    imaplib files such lines among its untagged responses, where idle_check never looks and
    imapclient offers no public way to them: unread, that mail would wait for the next poll."""
    untagged: dict[str, list[bytes]] = client._imap.untagged_responses
    exists, recent = untagged.pop("EXISTS", None), untagged.pop("RECENT", None)
    return bool(exists or recent)


def _has_news(responses: Sequence[Any]) -> bool:
    """An untagged EXISTS (new message count) or RECENT in IDLE/NOOP responses."""
    return any(
        isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses
    )


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(*TEMPORARY_ERRORS, IMAPClientError):  # already closed
        client.shutdown()


def _text(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if exc.args and isinstance(exc.args[0], bytes):  # imaplib keeps the server's words as bytes
        return exc.args[0].decode(errors="replace").strip()
    return str(exc).strip() or type(exc).__name__
