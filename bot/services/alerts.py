"""Mail to the people behind a mailbox that is not an approval request: the tick's alerts
(to the salesperson or the manager, each once) and notices (an answer not accepted, a draft
held, a follow-up that failed). Both are Auto-Submitted (bot.services.approval_mail.notice_mail)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Protocol

from bot.config import MailboxConfig
from bot.ports import Delivered, Sender
from bot.services.approval_mail import notice_mail
from bot.services.guards import message_id_of
from bot.services.tick import TickReport

log = logging.getLogger(__name__)


class RequestLog(Protocol):
    """Who was mailed about what (the outbox's requests table)."""

    def requested(self, draft_id: str) -> set[str]: ...

    def record_request(
        self, draft_id: str, approver: str, *, message_id: str, now: datetime
    ) -> bool: ...


def send_alerts(
    outbox: RequestLog, mailbox: MailboxConfig, sender: Sender, tick: TickReport, *, now: datetime
) -> int:
    """The tick's alerts (a person must read a reply, a bad-debt signal) as mail to the
    salesperson (the approvers) or the manager, each once per order, rule and reason."""
    sent = 0
    for order_id, decision in tick.decisions.items():
        for alert in decision.alerts:
            to = (mailbox.manager,) if alert.to == "manager" and mailbox.manager else ()
            recipients = to or mailbox.approvers
            mark = (
                "alert:"
                + hashlib.sha256(
                    f"{order_id}\x00{decision.rule_id}\x00{alert.why}".encode()
                ).hexdigest()[:40]
            )
            if alert.to in outbox.requested(mark):
                continue  # told before
            text = f"Order {order_id}: {alert.why}. (rule {decision.rule_id})"
            raw, rcpt = notice_mail(
                mailbox, text, now=now, subject=f"dunbot alert: order {order_id}", to=recipients
            )
            result = sender.send_sync(raw, sender=mailbox.address, recipients=rcpt)
            if isinstance(result, Delivered):
                outbox.record_request(mark, alert.to, message_id=message_id_of(raw), now=now)
                sent += 1
            else:
                log.warning("alert for %s not sent (%s): %s", order_id, result, alert.why)
    return sent


def notify(
    mailbox: MailboxConfig,
    sender: Sender,
    text: str,
    *,
    now: datetime,
    subject: str = "dunbot: an answer was not accepted",
) -> None:
    """Mail a notice to the mailbox's approvers; a failure is logged, not raised."""
    raw, recipients = notice_mail(mailbox, text, now=now, subject=subject)
    result = sender.send_sync(raw, sender=mailbox.address, recipients=recipients)
    if not isinstance(result, Delivered):
        log.warning("notice to %s not sent (%s): %s", ", ".join(recipients), result, text)


__all__ = ["RequestLog", "notify", "send_alerts"]
