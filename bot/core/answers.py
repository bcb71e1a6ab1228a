"""The policy's answers to what came back since our last message: a bounce, the customer's
reply (per intent: answer, wait for a promise or an absence, stop, escalate), an auto-reply."""

from __future__ import annotations

from datetime import datetime

from bot.core.calendar import add_business_days
from bot.core.context import Context, Verdict, make_decision, notices
from bot.core.decision import Action, Decision, Event, Notice
from bot.core.model import Intent, Kind, OrderStatus
from bot.core.ruleset import DRAFT_ONLY, Answer, Mode


def bounce(ctx: Context) -> Verdict:
    bounced = [e for e in ctx.pending if e.kind is Kind.BOUNCE]
    if not bounced:
        return None, "no bounce since our last message"
    stop = _stop_reply(ctx)
    if stop is not None:  # paid / cancel must stop the order; the stop flags the contact
        return None, f"a bounce, but the customer's reply says {stop.intent.value}: that decides"
    e, answer = bounced[-1], ctx.rules.answers["bounce"]
    who = e.bounce_recipient or ctx.order.customer_email
    why = f"mail to {who} bounced on {ctx.local_date(e.at)}: flag the contact, a person must act"
    return make_decision(
        ctx,
        Action.ESCALATE,
        answer.id,
        why,
        flag_contact=who,
        template=answer.template,
        mode="draft",
        recipients=answer.to,
        alerts=notices(answer, why),
    ), why


def _stop_reply(ctx: Context) -> Event | None:
    """The deciding unanswered reply when its answer is to stop (paid, cancel)."""
    e = deciding_reply(ctx)
    return e if e is not None and _answer_for(ctx, e)[1].action == "stop" else None


def deciding_reply(ctx: Context) -> Event | None:
    """The unanswered reply the policy answers: the latest one, except that a claim of payment
    anywhere among them wins. A later line ("and please resend the invoice") must not undo
    "we paid": the order waits for the salesperson to confirm the money."""
    replies = [e for e in ctx.pending if e.kind is Kind.HUMAN]
    claims = [e for e in replies if _answer_for(ctx, e)[1].status == "claimed_paid"]
    chosen = claims or replies
    return chosen[-1] if chosen else None


def _answer_for(ctx: Context, e: Event) -> tuple[str, Answer]:
    key = e.intent.value if e.intent.value in ctx.rules.answers else "other"
    return key, ctx.rules.answers[key]


def _bounced_contact(ctx: Context) -> str | None:
    bounced = [e for e in ctx.pending if e.kind is Kind.BOUNCE]
    return (bounced[-1].bounce_recipient or ctx.order.customer_email) if bounced else None


def human_reply(ctx: Context) -> Verdict:
    e = deciding_reply(ctx)
    if e is None:
        return None, "no unanswered reply from the customer"
    key, answer = _answer_for(ctx, e)
    if answer.action == "wait":
        return _wait(ctx, e, answer, key)
    return _answer(ctx, e, answer, key), f"the customer's reply says {key}"


def _answer(ctx: Context, e: Event, answer: Answer, key: str) -> Decision:
    why = f"customer replied on {ctx.local_date(e.at)} ({key}): rule {answer.id}"
    mode: Mode = "draft" if key in DRAFT_ONLY else answer.mode
    alerts = notices(answer, why)
    if answer.action == "stop":
        status = OrderStatus.CLAIMED_PAID if answer.status == "claimed_paid" else None
        if status is not None:  # the salesperson confirms; the customer's word is not money
            confirm = "the customer says it is paid: please confirm the money arrived"
            alerts = (*(a for a in alerts if a.to != "salesperson"), Notice("salesperson", confirm))
        return make_decision(
            ctx,
            Action.STOP,
            answer.id,
            why,
            status=status,
            alerts=alerts,
            template=answer.template,
            mode=mode,
            recipients=answer.to,
            flag_contact=_bounced_contact(ctx),
        )
    action = Action.ESCALATE if answer.action == "escalate" else Action.ANSWER
    at = ctx.now if action is Action.ESCALATE else ctx.reply_time(max(ctx.now, e.at))
    return make_decision(
        ctx,
        action,
        answer.id,
        why,
        at=at,
        template=answer.template,
        mode=mode,
        recipients=answer.to,
        alerts=alerts,
    )


def _wait(ctx: Context, e: Event, answer: Answer, key: str) -> Verdict:
    """promise / absent: wait until the date, then check in (promise) or resume the ladder."""
    resume = resume_at(ctx, e, answer)
    if key == "absent":
        if ctx.now < resume:
            why = f"customer away until {ctx.local_date(resume)}: pause ({answer.id})"
            return make_decision(ctx, Action.WAIT, answer.id, why, at=resume), why
        return None, f"customer was away until {ctx.local_date(resume)}: the ladder resumes"
    return _promise(ctx, e, answer, resume)


def _promise(ctx: Context, e: Event, answer: Answer, check: datetime) -> Verdict:
    said = f"promised to pay by {e.promised}" if e.promised else "promised to pay (no date)"
    if ctx.now < check:
        why = f"customer {said}: wait, check in on {ctx.local_date(check)} ({answer.id})"
        return make_decision(
            ctx,
            Action.WAIT,
            answer.id,
            why,
            at=check,
            template=answer.template,
            mode=answer.mode,
            recipients=answer.to,
        ), why
    why = f"customer {said}; no news since: check in ({answer.id})"
    # A promised date is the new settlement date: the check-in after it is on time even on an
    # otherwise avoided day. A promise without a date (a pause) earns no such exception.
    dated = e.promised is not None and e.promised >= ctx.local_date(e.at)
    on_time = ctx.local_date(check) if dated else None
    at = ctx.send_time(max(check, ctx.now), on_time_for=on_time)
    return make_decision(
        ctx,
        Action.FOLLOW_UP,
        answer.id,
        why,
        at=at,
        template=answer.template,
        mode=answer.mode,
        recipients=answer.to,
        alerts=notices(answer, why),
    ), why


def resume_at(ctx: Context, e: Event, answer: Answer) -> datetime:
    """When a pause ends: the business day after a promised date, the return day, or `pause`."""
    base = ctx.local_date(e.at)
    if e.promised is not None and e.promised >= base:
        days = 1 if e.intent is Intent.PROMISE else 0
        return ctx.day_start(add_business_days(e.promised, days, ctx.country))
    return ctx.day_start(add_business_days(base, max(answer.pause, 1), ctx.country))


def auto_reply(ctx: Context) -> Verdict:
    autos = [e for e in ctx.pending if e.kind is Kind.AUTO_REPLY]
    if not autos:
        return None, "no auto-reply since our last message"
    answer = ctx.rules.answers["auto_reply"]
    resume = resume_at(ctx, autos[-1], answer)
    if ctx.now >= resume:
        return None, f"auto-reply pause ended {ctx.local_date(resume)}: the ladder resumes"
    why = f"auto-reply: away until {ctx.local_date(resume)}; pause ({answer.id})"
    return make_decision(ctx, Action.WAIT, answer.id, why, at=resume), why
