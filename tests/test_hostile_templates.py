"""Every email is hostile: template values are data, and a template cannot leave the sandbox.

Values that reach a template (the customer's name from the orders CSV, the company) may hold
Jinja syntax; they are printed, never evaluated. A user's template that reaches for Python
internals, files outside the templates folder, or unbounded memory or time fails with a
TemplateError that names the file and line, and the process goes on.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.templates import SandboxedRenderer, sample_context
from bot.config import MailboxConfig, ServerConfig
from bot.core.approval import CommandKind, parse_command
from bot.core.model import Draft
from bot.errors import TemplateError
from bot.paths import DEFAULT_TEMPLATES_DIR
from bot.services.outbox import outbox_item

JINJA = "{{ ''.__class__.__mro__ }}{% for i in range(3) %}{{ 7*7 }}{% endfor %}{# x #}"


@pytest.mark.parametrize("language", ["en", "zh", "de", "es", "fr"])
@pytest.mark.parametrize("name", ["friendly-check-in", "due-date-reminder", "answer-cash-flow"])
def test_jinja_in_context_values_is_printed_not_run(language: str, name: str) -> None:
    context = {**sample_context(), "customer_name": JINJA, "company": "{{ lipsum.__globals__ }}"}
    mail = SandboxedRenderer(DEFAULT_TEMPLATES_DIR).render(name, language, context)
    text = mail.subject + mail.body
    assert "49" not in text
    if "customer_name" in (DEFAULT_TEMPLATES_DIR / f"{language}/{name}.j2").read_text():
        assert JINJA in text


HOSTILE_TEMPLATES = {
    "class walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "via a context value": "{{ customer_name.__class__.__init__.__globals__ }}",
    "globals of a helper": "{{ cycler.__init__.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__['os'] }}",
    "template internals": "{{ self._TemplateReference__context }}",
    "format string": "{{ 'a{0.__class__.__mro__}'.format(customer_name) }}",
    "date internals": "{{ due_date.__class__.__subclasses__() }}",
    "huge exponent": "{{ (9 ** 99999999) > 1 }}",
    "huge repeat": "{{ customer_name * 100000000 }}",
    "huge range": "{{ range(10 ** 8) | list | length }}",
    "self recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "include outside": "{% include '../../../../etc/passwd' %}",
    "include absolute": "{% include '/etc/passwd' %}",
    "unknown variable": "{{ os.environ }}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_a_hostile_template_fails_naming_its_file_and_line(tmp_path: Path, name: str) -> None:
    (tmp_path / "en").mkdir()
    path = tmp_path / "en" / "evil.j2"
    path.write_text(
        f"Subject: Order {{{{ order_id }}}}\n\nDear {{{{ customer_name }}}},\n{HOSTILE_TEMPLATES[name]}\n"
    )
    with pytest.raises(TemplateError) as caught:
        SandboxedRenderer(tmp_path).render("evil", "en", sample_context())
    assert str(caught.value).startswith(str(path))
    if name not in ("include outside", "include absolute"):
        assert str(caught.value).startswith(f"{path}:4: ")


def test_ordinary_arithmetic_and_repeats_still_render(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "ok.j2").write_text(
        "Subject: Order {{ order_id }}\n\n{{ amount * 2 }} {{ 2 ** 10 }} {{ '-' * 20 }}\n"
    )
    mail = SandboxedRenderer(tmp_path).render("ok", "en", sample_context())
    assert mail.body == "25000.00 1024 --------------------\n"


def test_an_approvers_edit_with_jinja_is_sent_as_written() -> None:
    reply = "--- edit below ---\nDear {{ customer_name }}, {{ 7*7 }}\n--- end ---\n"
    command = parse_command(reply)
    assert command.kind is CommandKind.EDIT and command.body is not None
    now = datetime(2026, 3, 10, 10, tzinfo=UTC)
    server = ServerConfig(host="127.0.0.1", port=1, security="none")
    mailbox = MailboxConfig(name="sales", address="alice@supplier.test", imap=server, smtp=server)
    draft = Draft(
        draft_id="d1",
        mailbox="sales",
        order_ids=("PO-1",),
        customer_email="bob@buyer.test",
        to=("bob@buyer.test",),
        cc=(),
        subject="Re: PO-1",
        body="x\n",
        message_id="m@supplier.test",
        in_reply_to=None,
        references=(),
        rule_id="r",
        template="t",
        language="en",
        mode="draft",
        reason="due",
        created_at=now,
        due_at=now,
    )
    item = outbox_item(draft, mailbox, now=now, body=command.body)
    sent = email.message_from_bytes(item.raw, policy=email.policy.default)
    body = sent.get_body()
    assert body is not None
    assert body.get_content().rstrip() == "Dear {{ customer_name }}, {{ 7*7 }}"
