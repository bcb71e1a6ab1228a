"""Ingest benchmark: `dunbot sync --once` against the raw IMAP FETCH ceiling, on a real Dovecot.

    python bench/ingest.py [--n 20000] [--connections 4] [--profile] [--keep] [--cli] [--serial]

Starts its own mailstack (tests/mailstack/mailstack, root, Debian) in a fresh temp dir, fills
the sales INBOX by IMAP APPEND over several connections with N generated messages (sizes 1 KB
to 200 KB, some with attachments; English, Chinese in GBK, German in Latin-1, Spanish, French,
Japanese in ISO-2022-JP; a third are replies with In-Reply-To/References to earlier ones; most
name an order number), imports matching orders, then in one run measures:

  (a) raw: IMAPClient UID FETCH BODY.PEEK[] of every message in batches (the ceiling);
  (b) ingest: the pass `dunbot sync --once` makes (bot.daemon.sync_all), in a child process
      of its own, timed inside it; the peak memory of that process and its parse/classify
      workers together (RSS sum, an upper bound, and PSS), sampled from /proc. --serial keeps
      it in one process (no worker pool). With --cli, the whole `dunbot sync --once` (ingest,
      then the planning tick) is timed as well, run as the installed `dunbot` console script
      when there is one (as users run it: the workers must not import the whole CLI again).

Prints messages/s for both, their ratio, and the peak memory. Targets: ingest >= 50% of raw,
peak RSS < 300 MB whatever N. --profile also runs the pass in-process under cProfile and
prints what each stage (fetch, parse, classify, thread, store) costs.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import itertools
import os
import pstats
import random
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parent.parent
MAILSTACK = ROOT / "tests" / "mailstack" / "mailstack"
PASSWORD_ENV = "DUNBOT_BENCH_IMAP_PASSWORD"
N_CUSTOMERS = 400
APPEND_CHUNK = 50  # messages per MULTIAPPEND

# (language, charset, transfer encoding, subject, opening, filler sentence)
LANGUAGES = [
    ("en", "us-ascii", "7bit", "Payment for {po}",
     ("Dear Alice,\n\nThank you for the proforma invoice {po}. Our finance department will arrange "
     "the deposit next week, once our customer has paid us.\n"),
     "Please note the shipping marks and the packing list we discussed on the phone last Monday.\n"),
    ("zh", "gbk", "base64", "关于订单{po}的付款",
     "您好，\n\n关于订单号{po}的付款，我们的客户还没有付款给我们，请再等一周，谢谢理解。\n",
     "另外请确认唛头和装箱单，按照上周电话里讨论的要求安排生产。\n"),
    ("de", "iso-8859-1", "quoted-printable", "Zahlung Bestellung {po}",
     ("Sehr geehrte Frau Alice,\n\nwir werden die Anzahlung für die Bestellung {po} nächste Woche "
     "veranlassen. Unsere Buchhaltung prüft gerade die Rechnung.\n"),
     "Bitte beachten Sie die Versandmarkierungen und die Packliste, wie am Telefon besprochen.\n"),
    ("es", "utf-8", "quoted-printable", "Pago del pedido {po}",
     ("Estimada Alice:\n\nEl pago del pedido {po} se realizará la próxima semana, cuando nuestro "
     "cliente nos pague.\n"),
     "Por favor, tenga en cuenta las marcas de envío y la lista de empaque que comentamos.\n"),
    ("fr", "utf-8", "8bit", "Paiement de la commande {po}",
     ("Bonjour Alice,\n\nNous effectuerons le paiement de la commande {po} la semaine prochaine, "
     "dès que notre client nous aura réglé.\n"),
     "Merci de noter les marques d'expédition et la liste de colisage dont nous avons parlé.\n"),
    ("ja", "iso-2022-jp", "7bit", "注文{po}のお支払いについて",
     "アリス様\n\n注文番号{po}のお支払いは来週になります。お客様からの入金を待っております。\n",
     "先週お電話でお話しした荷印とパッキングリストをご確認ください。\n"),
]


@dataclass(frozen=True, slots=True)
class Stack:
    dir: Path
    env: dict[str, str]

    @property
    def imap_port(self) -> int:
        return int(self.env["IMAP_PORT"])


def start_stack() -> Stack:
    if not (shutil.which("dovecot") and shutil.which("postfix")):
        subprocess.run([str(MAILSTACK), "install"], check=True, capture_output=True)
    d = Path(tempfile.mkdtemp(prefix="dunbot-bench-"))
    out = subprocess.run([str(MAILSTACK), "start", str(d)], check=True, capture_output=True, text=True).stdout
    env: dict[str, str] = {}
    for line in out.splitlines():
        for word in shlex.split(line)[1:]:
            key, _, value = word.partition("=")
            env[key] = value
    return Stack(d, env)


def stop_stack(stack: Stack) -> None:
    subprocess.run([str(MAILSTACK), "stop", str(stack.dir)], check=True, capture_output=True)
    shutil.rmtree(stack.dir, ignore_errors=True)


def connect(stack: Stack) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=stack.imap_port, ssl=False, timeout=120)
    client.login(stack.env["SALES_USER"], stack.env["SALES_PASSWORD"])
    return client


# ---- the generated mailbox --------------------------------------------------------------
def order_id(k: int) -> str:
    return f"PO-{10000 + k}"


def customer(k: int) -> str:
    return f"buyer{k}@customer{k % 97}.test"


def target_size(rng: random.Random) -> tuple[int, bool]:
    """(approximate bytes, with attachment): mostly small text, some big with attachments."""
    roll = rng.random()
    if roll < 0.70:
        return int(1024 * 2 ** rng.uniform(0, 4)), False  # 1-16 KB
    if roll < 0.90:
        return int(1024 * 2 ** rng.uniform(4, 6)), False  # 16-64 KB, long quoted history
    return int(1024 * 2 ** rng.uniform(6, 7.64)), True  # 64-200 KB, attachment


def encode_body(text: str, charset: str, cte: str) -> bytes:
    data = text.replace("\n", "\r\n").encode("iso2022_jp" if charset == "iso-2022-jp" else charset)
    if cte == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    if cte == "quoted-printable":
        import quopri

        return quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def generate(n: int, sales: str, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    history: list[tuple[str, str, int]] = []  # (message-id, subject, customer k)
    for i in range(n):
        _lang, charset, cte, subj, opening, filler = LANGUAGES[rng.randrange(len(LANGUAGES))]
        size, attach = target_size(rng)
        if history and rng.random() < 0.33:
            parent, parent_subject, k = history[rng.randrange(max(0, len(history) - 500), len(history))]
            subject, refs = "Re: " + parent_subject, parent
        else:
            k, parent = rng.randrange(N_CUSTOMERS), None
            po = order_id(k) if rng.random() < 0.8 else "your quotation"
            subject, refs = subj.format(po=po), None
        msgid = f"bench{i}.{seed}@customer{k % 97}.test"
        history.append((msgid, subject, k))
        text = opening.format(po=order_id(k))
        quoted = "".join("> " + filler for _ in range(max(0, (size if not attach else 2048) // len(filler.encode()))))
        body = encode_body(text + "\n" + quoted, charset, cte)
        head = [
            f"From: Buyer {k} <{customer(k)}>",
            f"To: Alice <{sales}>",
            f"Subject: {encode_header(subject, charset)}",
            f"Date: {format_datetime(start + timedelta(minutes=7 * i))}",
            f"Message-ID: <{msgid}>",
            "MIME-Version: 1.0",
        ]
        if refs:
            head += [f"In-Reply-To: <{refs}>", f"References: <{refs}>"]
        yield assemble(head, body, charset, cte, size if attach else 0, rng)


def encode_header(text: str, charset: str) -> str:
    """RFC 2047 in the message's charset when it can hold the text (a reply may quote another language)."""
    try:
        return Header(text, "utf-8" if charset == "us-ascii" else charset).encode()
    except UnicodeEncodeError:
        return Header(text, "utf-8").encode()


def assemble(head: list[str], body: bytes, charset: str, cte: str, attach: int, rng: random.Random) -> bytes:
    text_head = f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n"
    if not attach:
        return ("\r\n".join(head) + "\r\n" + text_head + "\r\n").encode() + body
    boundary = f"=_b{rng.getrandbits(64):x}"
    blob = base64.encodebytes(rng.randbytes(attach * 3 // 4)).replace(b"\n", b"\r\n")
    return b"".join([
        ("\r\n".join(head) + f'\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n').encode(),
        f"--{boundary}\r\n{text_head}\r\n".encode(), body,
        f"\r\n--{boundary}\r\nContent-Type: application/pdf; name=PI.pdf\r\n"
        "Content-Disposition: attachment; filename=PI.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode(),
        blob, f"\r\n--{boundary}--\r\n".encode(),
    ])


def fill(stack: Stack, n: int, connections: int) -> tuple[float, int]:
    """APPEND (MULTIAPPEND) the generated messages over parallel connections; (seconds, bytes).
    Keeps the UID order = generation order only per chunk, which is all the threads need."""
    messages = generate(n, stack.env["SALES_USER"])
    lock, total, errors = threading.Lock(), [0], list[BaseException]()

    def worker() -> None:
        client = connect(stack)
        try:
            while not errors:
                with lock:  # the generator is shared: replies refer to earlier messages
                    chunk = list(itertools.islice(messages, APPEND_CHUNK))
                if not chunk:
                    return
                client.multiappend("INBOX", chunk)  # RFC 3502: one command, one Dovecot transaction
                with lock:
                    total[0] += sum(len(raw) for raw in chunk)
        except BaseException as exc:
            errors.append(exc)
            raise
        finally:
            client.logout()

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"fill failed: {errors[0]!r}")
    return time.perf_counter() - began, total[0]


# ---- measurements -------------------------------------------------------------------------
def raw_fetch(stack: Stack, batch: int) -> tuple[float, int, int]:
    """The ceiling: UID FETCH BODY.PEEK[] of everything, in batches; (seconds, messages, bytes)."""
    began = time.perf_counter()
    client = connect(stack)
    count = size = 0
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), batch):
            for item in client.fetch(uids[start : start + batch], ["BODY.PEEK[]"]).values():
                count += 1
                size += len(item[b"BODY[]"])
    finally:
        client.logout()
    return time.perf_counter() - began, count, size


def write_setup(stack: Stack, work: Path) -> tuple[Path, dict[str, str]]:
    config = work / "dunbot.yaml"
    server = (f"{{host: 127.0.0.1, port: {{port}}, security: none, username: {stack.env['SALES_USER']},"
              f" password_env: {PASSWORD_ENV}}}")
    config.write_text("\n".join([
        f"database: sqlite:///{work}/orders.db",
        "timezone: Asia/Shanghai",
        "mailboxes:",
        "  - name: sales",
        f"    address: {stack.env['SALES_USER']}",
        f"    imap: {server.replace('{port}', stack.env['IMAP_PORT'])}",
        f"    smtp: {server.replace('{port}', stack.env['SMTP_PORT'])}",
    ]) + "\n", encoding="utf-8")
    csv = work / "orders.csv"
    rows = [f"{order_id(k)},{customer(k)},Buyer {k},{1000 + k}.00,USD,2026-03-01" for k in range(N_CUSTOMERS)]
    csv.write_text("order_id,customer_email,customer_name,amount,currency,due_date\n" + "\n".join(rows) + "\n")
    env = {**os.environ, PASSWORD_ENV: stack.env["SALES_PASSWORD"]}
    dunbot(config, env, "orders", "import", str(csv))
    return config, env


def fresh_db(config: Path, name: str) -> str:
    """A copy of the database that holds only the imported orders, as a URL."""
    db = config.parent / name
    shutil.copy(config.parent / "orders.db", db)
    return f"sqlite:///{db}"


def child(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Run a process; (seconds, peak RSS and peak PSS in KB of it and its children together, stdout).

    wait4's ru_maxrss is the largest single process only; with worker processes the tree is what
    the machine must hold, so it is sampled every 0.1 s. The RSS sum counts pages the processes
    share once per process (an upper bound); PSS splits them among the sharers."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    peak, stop = [0, 0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            rss, pss = tree_memory_kb(proc.pid)
            peak[:] = [max(peak[0], rss), max(peak[1], pss)]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {out}")
    return time.perf_counter() - began, max(usage.ru_maxrss, peak[0]), peak[1], out


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, in KB; processes gone meanwhile count 0."""
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in rollup.splitlines()[1:]}
        rss, pss = rss + int(fields.get("Rss", 0)), pss + int(fields.get("Pss", 0))
    return rss, pss


def dunbot(config: Path, env: dict[str, str], *args: str) -> tuple[float, int, int, str]:
    return child([sys.executable, "-m", "bot", "--config", str(config), *args], env)


def ingest_only(config: Path, *, serial: bool = False) -> None:
    """The child of the ingest measurement: one sync_all pass (no planning), timed in-process."""
    from bot.adapters.store import SqlStore
    from bot.config import load_config
    from bot.daemon import load_knowledge, sync_all
    from bot.services import ingest

    if serial:
        ingest.POOL_MIN_MESSAGES = sys.maxsize

    cfg = load_config(config)
    knowledge = load_knowledge(cfg)
    with SqlStore.open(cfg.database) as store:
        began, cpu = time.perf_counter(), _cpu_seconds()
        [outcome] = sync_all(cfg, store, knowledge, now=datetime.now(UTC))
        took = time.perf_counter() - began
        main_cpu, workers_cpu = (after - before for after, before in zip(_cpu_seconds(), cpu, strict=True))
    if outcome.report is None:
        raise SystemExit(f"ingest failed: {outcome.error}")
    print(f"{took:.3f} {outcome.report.summary()}")
    print(f"cpu {main_cpu:.3f} {workers_cpu:.3f}")


def _cpu_seconds() -> tuple[float, float]:
    """(user + system CPU seconds of this process, of its ended children: the pool's workers)."""
    own, ended = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, ended.ru_utime + ended.ru_stime


def profile_pass(config: Path, env: dict[str, str]) -> None:
    """Re-run the whole pass in-process under cProfile (fresh folder state) and print by stage."""
    os.environ[PASSWORD_ENV] = env[PASSWORD_ENV]
    from bot.adapters.store import SqlStore
    from bot.config import load_config
    from bot.daemon import load_knowledge, sync_all
    from bot.services import ingest

    ingest.POOL_MIN_MESSAGES = sys.maxsize  # in one process: cProfile sees only its own

    cfg = load_config(config)
    knowledge = load_knowledge(cfg)
    with SqlStore.open(fresh_db(config, "profile.db")) as store:
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.runcall(sync_all, cfg, store, knowledge, now=datetime.now(UTC))
        wall = time.perf_counter() - began
    stats = pstats.Stats(profiler)
    stages = {
        "fetch (imap)": "_fetch_chunk", "parse (mime)": "parse_message", "classify (understand)": "classify",
        "thread (match_order)": "match_order", "store (save_batch)": "save_batch",
        "thread lookup (orders_by_message_id)": "orders_by_message_id",
    }
    print(f"\nprofile of the in-process pass, serial: {wall:.1f}s wall (cProfile slows it down)")
    for label, func in stages.items():
        cum = sum(v[3] for k, v in stats.stats.items() if k[2] == func)  # type: ignore[attr-defined]
        print(f"  {label:<40} {cum:7.1f}s  {100 * cum / wall:5.1f}%")
    stats.sort_stats("cumulative").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="messages to generate (default 20000)")
    ap.add_argument("--connections", type=int, default=4, help="parallel APPEND connections")
    ap.add_argument("--batch", type=int, default=250, help="UIDs per FETCH in the raw measurement")
    ap.add_argument("--profile", action="store_true", help="also profile the pass in-process")
    ap.add_argument("--keep", action="store_true", help="leave the mail stack and files for a look")
    ap.add_argument("--cli", action="store_true", help="also time the whole `dunbot sync --once` (with planning)")
    ap.add_argument("--serial", action="store_true", help="ingest in one process (no worker pool)")
    ap.add_argument("--ingest-only", type=Path, metavar="CONFIG", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ingest_only:
        ingest_only(args.ingest_only, serial=args.serial)
        return
    stack = start_stack()
    work = Path(tempfile.mkdtemp(prefix="dunbot-bench-work-"))
    try:
        took, size = fill(stack, args.n, args.connections)
        print(f"fill: {args.n} messages, {size / 1e6:.0f} MB by MULTIAPPEND in {took:.1f}s "
              f"({args.n / took:.0f} msg/s, {args.connections} connections)")
        config, env = write_setup(stack, work)
        cpu_before = _cpu_seconds()[0]
        raw_s, raw_n, raw_bytes = raw_fetch(stack, args.batch)
        raw_cpu = _cpu_seconds()[0] - cpu_before
        print(f"raw FETCH: {raw_n} messages, {raw_bytes / 1e6:.0f} MB in {raw_s:.1f}s = {raw_n / raw_s:.0f} msg/s")
        ingest_env = {**env, "DUNBOT_DATABASE": fresh_db(config, "ingest.db")}
        cmd = [sys.executable, __file__, "--ingest-only", str(config), *(["--serial"] if args.serial else [])]
        _, rss_kb, pss_kb, out = child(cmd, ingest_env)
        first, cpu_line = out.strip().splitlines()[-2:]
        ing_s, summary = float(first.split()[0]), first.split(" ", 1)[1].strip()
        main_cpu, workers_cpu = (float(x) for x in cpu_line.split()[1:])
        print(f"ingest (sync_all, no planning): {summary}")
        print(f"ingest: {raw_n} messages in {ing_s:.1f}s = {raw_n / ing_s:.0f} msg/s, "
              f"peak memory of the process and its workers together: RSS {rss_kb / 1024:.0f} MB, "
              f"PSS {pss_kb / 1024:.0f} MB")
        print(f"ingest CPU per message: {1000 * main_cpu / raw_n:.2f} ms in the main process (fetch, "
              f"threading, store), {1000 * workers_cpu / raw_n:.2f} ms in the workers (parse, classify); "
              f"raw FETCH used {1000 * raw_cpu / raw_n:.2f} ms")
        ratio = (raw_n / ing_s) / (raw_n / raw_s)
        print(f"ratio ingest/raw: {100 * ratio:.1f}% (target >= 50%); peak memory target < 300 MB: "
              f"{'ok' if rss_kb < 300 * 1024 else 'OVER'}")
        if args.cli:
            cli_env = {**env, "DUNBOT_DATABASE": fresh_db(config, "cli.db")}
            script = Path(sys.executable).parent / "dunbot"
            cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
            cli_s, cli_kb, _, out = child([*cmd, "--config", str(config), "sync", "--once", "--no-progress"], cli_env)
            print(f"dunbot sync --once (ingest + plan, process start included): {cli_s:.1f}s = "
                  f"{raw_n / cli_s:.0f} msg/s, peak RSS {cli_kb / 1024:.0f} MB; it said: {' | '.join(out.splitlines())}")
        if args.profile:
            profile_pass(config, env)
    finally:
        if args.keep:
            print(f"kept: mail stack {stack.dir}, files {work}")
        else:
            stop_stack(stack)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
