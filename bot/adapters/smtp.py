"""SMTP sender (aiosmtplib): one message per connection, every answer classified.

`SmtpSender.send(raw, sender=..., recipients=...)` returns one of
- Delivered: the server took the message (250 after DATA) for at least one recipient; the
  recipients it refused are listed, and are NOT retried (a retry would send twice to the others);
- TemporaryFailure: a 4xx answer (RFC 5321 4.2.1: "transient negative completion") or no answer
  at all (connection refused, dropped, timed out): try again later;
- PermanentFailure: a 5xx answer ("permanent negative completion"), a refused login or an
  untrusted certificate: retrying will not help, a person must look.
It never raises for a server's behaviour. `send_sync` wraps it for callers that are not async.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiosmtplib

from bot.config import ServerConfig
from bot.ports import Delivered, PermanentFailure, SendResult, TemporaryFailure

Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    """How to reach one submission server; `name` is the config's mailbox name, for messages."""

    name: str
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str = field(default="", repr=False)
    tls_verify: bool = True
    ca_file: Path | None = None
    timeout: float = 60.0

    @classmethod
    def from_config(
        cls,
        name: str,
        server: ServerConfig,
        *,
        ca_file: Path | None = None,
        timeout: float = 60.0,
    ) -> SmtpSettings:
        """Settings from the config; the password is read now (env or file), only with a username."""
        return cls(
            name=name,
            host=server.host,
            port=server.port,
            security=server.security,
            username=server.username,
            password=server.password() if server.username else "",
            tls_verify=server.tls_verify,
            ca_file=ca_file,
            timeout=timeout,
        )


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """Verifying context (system CAs or ca_file); without verification only if tls_verify is false."""
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SmtpSender:
    """Sends raw messages through one submission server (implements the outbox's Sender)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        secure = s.security != "none"
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.security == "ssl",
            start_tls=s.security == "starttls",
            tls_context=tls_context(s) if secure else None,
            validate_certs=s.tls_verify,
            timeout=s.timeout,
        )

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """Submit raw (headers included, sent unchanged) to `recipients` (the envelope)."""
        if not recipients:
            return PermanentFailure("no recipients")
        client = self._client()
        try:
            await client.connect()
            if self.settings.username:
                await client.login(self.settings.username, self.settings.password)
            refused, response = await client.sendmail(sender, list(recipients), raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _refused_all(exc)
        except aiosmtplib.SMTPResponseException as exc:
            return _classify(exc.code, exc.message)
        except ssl.SSLCertVerificationError as exc:
            return PermanentFailure(self._tls_reason(exc))
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            return TemporaryFailure(f"{self._where()}: {_text(exc)}")
        finally:
            await _quit(client)
        return Delivered(response, tuple((r, f"{a.code} {a.message}") for r, a in refused.items()))

    def send_sync(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """`send` for callers without an event loop; RuntimeError from inside a running loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.send(raw, sender=sender, recipients=recipients))
        raise RuntimeError("SmtpSender.send_sync called inside an event loop; await send()")

    def _where(self) -> str:
        return f"smtp {self.settings.name} {self.settings.host}:{self.settings.port}"

    def _tls_reason(self, exc: ssl.SSLCertVerificationError) -> str:
        return (
            f"{self._where()}: TLS certificate not trusted ({exc.verify_message}); "
            "set the CA file, or tls_verify: false for a self-signed test server"
        )


def _classify(code: int, message: str) -> SendResult:
    reason = f"{code} {message}".strip()
    if 400 <= code < 500 or code < 0:  # aiosmtplib uses -1 for "no answer"
        return TemporaryFailure(reason, code if code > 0 else None)
    return PermanentFailure(reason, code)


def _refused_all(exc: aiosmtplib.SMTPRecipientsRefused) -> SendResult:
    codes = [r.code for r in exc.recipients]
    reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    if any(400 <= c < 500 for c in codes):  # one temporary refusal: the whole send may work later
        return TemporaryFailure(f"recipients refused: {reason}", min(codes))
    return PermanentFailure(f"recipients refused: {reason}", max(codes) if codes else None)


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        client.close()


def _text(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


__all__ = [
    "Delivered",
    "PermanentFailure",
    "SendResult",
    "SmtpSender",
    "SmtpSettings",
    "TemporaryFailure",
    "tls_context",
]
