"""Parsing and understanding fetched messages, in this process or in a pool of worker
processes (bot.services.ingest decides which; threading and storing stay there, in UID order).

A worker is started with `spawn` (never a fork of a threaded daemon) and gets the understanding
rules, the mailbox's own addresses and `now` once; each task is a chunk of fetched messages.
Whatever raises for one message comes back as a failed ParseOutcome, to be quarantined.
A task carries only the raw bytes and a result only what the worker made (no raw bytes back):
this process still holds each FetchedMessage and pairs it with its result again.
"""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.machinery import ModuleSpec

from bot.core.mime import parse_message
from bot.core.model import ParsedMessage, Understanding
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.ports import FetchedMessage

POOL_CHUNK = 16  # messages per task sent to a worker


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """One fetched message after parsing (and, in a worker, understanding)."""

    item: FetchedMessage
    msg: ParsedMessage | None = None
    understanding: Understanding | None = None
    understood: bool = False  # classify ran (or the message is outgoing and needs none)
    stage: str = ""  # where it failed: "parse" or "understand"; "" when it did not
    reason: str = ""
    detail: str = ""  # traceback of an unexpected error, for the log


Understander = Callable[[list[FetchedMessage]], Iterator[ParseOutcome]]


def parse_here(fetched: list[FetchedMessage]) -> Iterator[ParseOutcome]:
    """Parse in this process (understanding is left to the caller)."""
    return iter([parse_fetched(item) for item in fetched])


@contextmanager
def worker_pool(
    workers: int,
    rules: UnderstandingRules,
    own: frozenset[str],
    now: datetime,
    *,
    outgoing: bool,
) -> Iterator[Understander]:
    """Parse and understand in `workers` processes; results come back in the order given."""
    context = multiprocessing.get_context("spawn")  # no fork of a threaded daemon
    pool = ProcessPoolExecutor(workers, context, _init_worker, (rules, own, now))
    try:
        with _main_not_imported():  # each submit starts a worker while none is idle
            for _ in range(workers):
                pool.submit(_started)
        yield lambda fetched: _submit(pool, fetched, outgoing)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # a failed pass: drop the queued work
        raise
    pool.shutdown()


@contextmanager
def _main_not_imported() -> Iterator[None]:
    """A spawned worker first imports the parent's __main__ again, unless that is a package's
    __main__ (multiprocessing.spawn skips those). Run as the `dunbot` console script, that would
    be the whole CLI in every worker: about 40 MB and a second each, none of it used here. So
    while the workers start, a script __main__ is named as a package's would be."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is not None:  # `python -m bot`: skipped already
        yield
        return
    main.__spec__ = ModuleSpec("bot.__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def _started() -> None:
    """The first task of each worker: makes the pool start them all at once, up front."""


def _submit(
    pool: Executor, fetched: list[FetchedMessage], outgoing: bool
) -> Iterator[ParseOutcome]:
    jobs = [(item.raw, outgoing) for item in fetched]
    results = pool.map(_work, jobs, chunksize=POOL_CHUNK)  # submitted now, collected in order
    return (_joined(item, result) for item, result in zip(fetched, results, strict=True))


# What a worker sends back for one message: ParseOutcome's fields after `item`.
_Result = tuple[ParsedMessage | None, Understanding | None, bool, str, str, str]


def _joined(item: FetchedMessage, result: _Result) -> ParseOutcome:
    msg, understanding, understood, stage, reason, detail = result
    return ParseOutcome(item, msg, understanding, understood, stage, reason, detail)


_WORKER: dict[str, object] = {}


def _init_worker(rules: UnderstandingRules, own: frozenset[str], now: datetime) -> None:
    _WORKER.update(rules=rules, own=own, now=now)


def _work(job: tuple[bytes, bool]) -> _Result:
    """In a worker: parse and, for incoming mail, understand one message."""
    raw, outgoing_folder = job
    rules, own, now = _WORKER["rules"], _WORKER["own"], _WORKER["now"]
    assert isinstance(rules, UnderstandingRules) and isinstance(own, frozenset)
    assert isinstance(now, datetime)
    item = FetchedMessage(uid=0, raw=raw)  # the caller has the real one; only fields go back
    parsed = parse_fetched(item)
    msg = parsed.msg
    if msg is None:
        return None, None, False, parsed.stage, parsed.reason, parsed.detail
    if outgoing_folder or msg.sender.email in own:
        return msg, None, True, "", "", ""
    try:
        understanding = classify(msg, rules, received_at=now)
    except Exception as exc:  # noqa: BLE001 - quarantined by the caller
        bad = failed(item, "understand", exc, msg)
        return msg, None, False, bad.stage, bad.reason, bad.detail
    return msg, understanding, True, "", "", ""


def parse_fetched(item: FetchedMessage) -> ParseOutcome:
    """Parse one fetched message; a failure is a ParseOutcome with the reason, never raised."""
    try:
        return ParseOutcome(item, parse_message(item.raw))
    except Exception as exc:  # noqa: BLE001 - never lose a message: quarantine whatever fails
        return failed(item, "parse", exc)


def failed(
    item: FetchedMessage, stage: str, exc: Exception, msg: ParsedMessage | None = None
) -> ParseOutcome:
    """What failed for this message at `stage` ("parse" or "understand"), for the quarantine."""
    expected = isinstance(exc, MessageParseError)
    reason = f"{stage}: {exc}" if expected else f"{stage}: {type(exc).__name__}: {exc}"
    detail = "" if expected else traceback.format_exc()
    return ParseOutcome(item, msg, stage=stage, reason=reason, detail=detail)


__all__ = [
    "POOL_CHUNK",
    "ParseOutcome",
    "Understander",
    "failed",
    "parse_fetched",
    "parse_here",
    "worker_pool",
]
