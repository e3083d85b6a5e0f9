"""Redaction quality and speed on a seeded, labelled synthetic corpus.

Builds prompts that read like real ones (requests, support tickets, logs, config snippets, JSON) with
Faker values for every entity type in several locales, mixed with look-alike negatives that must NOT
be redacted: order ids, timestamps and dates, version strings, UUIDs, prices, ISBNs, tracking numbers,
hashes, coordinates. Prints per-type recall and precision and throughput in MB/s on one core.

Scoring: a predicted span counts as correct when it overlaps a labelled span of the same type; a
labelled span counts as found when a prediction of its type overlaps it.

    python benchmarks/redaction.py                      # full run, both paths (about a minute)
    python benchmarks/redaction.py --quick              # CI smoke run (a few seconds)
    python benchmarks/redaction.py --path pure          # only the pure-Python path
    python benchmarks/redaction.py --compare-backends   # Hyperscan vs RE2 vs pyahocorasick

Both paths are measured in the same run when the accelerator (``pip install 'llm-monitor-sdk[fast]'``)
is installed, and their findings on the corpus compared: they must be identical.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from faker import Faker

from llm_monitor_sdk.redaction import BUILTIN_ENTITIES, RedactionConfig, build_redactor

Label = tuple[int, int, str]
TARGET_RECALL = TARGET_PRECISION = 0.99
TARGET_MBPS = 20.0  # typical prompts through redact_text, all detectors, one core, pure Python
TARGET_MBPS_ACCELERATED = 100.0  # the same with the accelerator (the fast extra)
TARGET_RECORDS_PER_S = (
    10_000  # the export worker's budget (performance issue), reported, not part of the verdict
)


class Doc:
    """A document under construction: text plus labelled spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.labels: list[Label] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def add_entity(self, template: str, value: str, entity: str, span_of: str | None = None) -> None:
        """Add ``template`` with ``{}`` replaced by ``value``; label ``span_of`` (default: the value)."""
        before, _, after = template.partition("{}")
        self.add(before)
        target = span_of if span_of is not None else value
        offset = value.index(target)
        self.labels.append((self.size + offset, self.size + offset + len(target), entity))
        self.add(value)
        self.add(after)

    def text(self) -> str:
        return "".join(self.parts)


class Corpus:
    """Seeded generators for positives and negatives."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {loc: Faker(loc) for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "en_IN", "pt_BR")}
        for i, fake in enumerate(self.fakers.values()):
            fake.seed_instance(seed + i)
        self.en = self.fakers["en_US"]

    def digits(self, n: int, first: str = "0123456789") -> str:
        return self.rng.choice(first) + "".join(self.rng.choice(string.digits) for _ in range(n - 1))

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    # -- positives ---------------------------------------------------------------------------------

    def phone(self) -> str:
        r = self.rng
        country = r.choice(["US", "GB", "DE", "FR", "IN", "BR", "E164"])
        if country == "IN":
            mobile = self.digits(5, "6789") + " " + self.digits(5)
            return r.choice([
                f"+91 {mobile}", f"+91-{mobile.replace(' ', '')}", f"+91{mobile.replace(' ', '')}",
                f"0{mobile}", mobile, f"0{mobile.replace(' ', '')}",
                f"+91 22 {self.digits(4, '23456')} {self.digits(4)}", f"022 {self.digits(4, '23456')} {self.digits(4)}",
            ])  # fmt: skip
        if country == "E164":
            return (
                "+"
                + r.choice(
                    ["1", "7", "33", "34", "39", "44", "49", "52", "61", "81", "86", "351", "353", "971"]
                )
                + self.digits(r.randint(8, 10), "123456789")
            )
        fake = self.fakers[
            {"US": "en_US", "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "BR": "pt_BR"}[country]
        ]
        while True:
            number = fake.phone_number()
            # Faker's de_DE provider also emits strings like "00008063608" that no numbering plan has.
            if country == "DE" and not number.startswith(
                (
                    "+49",
                    "(01",
                    "(02",
                    "(03",
                    "(04",
                    "(05",
                    "(06",
                    "(07",
                    "(08",
                    "(09",
                    "01",
                    "02",
                    "03",
                    "04",
                    "05",
                    "06",
                    "07",
                    "08",
                    "09",
                )
            ):
                continue
            return number

    def card(self) -> str:
        kind = self.rng.choice(["visa16", "visa13", "mastercard", "amex", "discover", "jcb16", "diners"])
        digits = self.en.credit_card_number(card_type=kind)
        style = self.rng.random()
        if style < 0.3:
            return digits
        sep = " " if style < 0.75 else "-"
        if len(digits) == 15:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def iban(self) -> str:
        fake = self.fakers[self.rng.choice(["en_GB", "de_DE", "fr_FR", "pt_BR", "en_US"])]
        value = fake.iban()
        if self.rng.random() < 0.5:
            value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def ip(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            return self.en.ipv4_public()
        if r < 0.6:
            return self.en.ipv4_private()
        v6 = ipaddress.IPv6Address(self.en.ipv6())
        if r < 0.8:
            return v6.compressed
        return str(ipaddress.IPv6Address(int(v6) & ~0xFFFFFFFF_FFFF0000))  # e.g. 2001:db8:...::1f

    def secret(self) -> tuple[str, str]:
        """A (text, secret-value) pair: the value is what must be redacted."""
        r = self.rng
        t = self.token
        choice = r.randrange(15)
        if choice == 0:
            key = f"sk-proj-{t(48, string.ascii_letters + string.digits + '_-')}"
            return f"OPENAI_API_KEY={key}", key
        if choice == 1:
            key = f"sk-{t(48)}"
            return f'client = OpenAI(api_key="{key}")', key
        if choice == 2:
            key = f"sk-ant-api03-{t(93, string.ascii_letters + string.digits + '_-')}AA"
            return f"my anthropic key is {key}", key
        if choice == 3:
            key = "AIza" + t(35, string.ascii_letters + string.digits + "_-")
            return f"GOOGLE_API_KEY: {key}", key
        if choice == 4:
            key = r.choice(["AKIA", "ASIA"]) + t(16, string.ascii_uppercase + string.digits)
            return f"aws_access_key_id = {key}", key
        if choice == 5:
            key = r.choice(["ghp_", "gho_", "ghs_"]) + t(36)
            return f"git clone with token {key} fails", key
        if choice == 6:
            key = "glpat-" + t(20, string.ascii_letters + string.digits + "_-")
            return f"GITLAB_TOKEN {key}", key
        if choice == 7:
            key = r.choice(["xoxb-", "xoxp-"]) + f"{self.digits(11)}-{self.digits(12)}-{t(24)}"
            return f"slack bot token: {key}", key
        if choice == 8:
            key = r.choice(["sk_live_", "rk_live_", "sk_test_"]) + t(24)
            return f"stripe.api_key = '{key}'", key
        if choice == 9:
            header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            body = "eyJ" + t(r.randint(30, 80), string.ascii_letters + string.digits + "_-")
            key = f"{header}.{body}.{t(43, string.ascii_letters + string.digits + '_-')}"
            return f"Authorization: Bearer {key}", key
        if choice == 10:
            key = t(40, string.ascii_letters + string.digits + "._-")
            return f"curl -H 'Authorization: Bearer {key}' https://api.example.com/v1/items", key
        if choice == 11:
            pw = self.en.password(length=r.randint(8, 16), special_chars=False)
            return r.choice(
                [f"password={pw}", f'"password": "{pw}"', f"DB_PASSWORD: {pw}", f"api_key: {pw}"]
            ), pw
        if choice == 12:
            pw = self.en.password(length=12, special_chars=False)
            return f"DATABASE_URL=postgres://app_user:{pw}@db.internal:5432/prod", pw
        if choice == 13:
            body = "\n".join(
                t(64, string.ascii_letters + string.digits + "+/") for _ in range(r.randint(3, 8))
            )
            key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
            return f"here is the key:\n{key}\n", key
        key = "whsec_" + t(32)
        return f"STRIPE_WEBHOOK_SECRET={key}", key

    def positive(self, doc: Doc) -> None:
        en, r = self.en, self.rng
        entity = r.choice(BUILTIN_ENTITIES)
        if entity == "EMAIL_ADDRESS":
            email = r.choice([en.email(), en.free_email(), en.company_email(), self.fakers["de_DE"].email()])
            doc.add_entity(r.choice(["Please send the report to {} by Friday. ", "Contact: {}\n", '{"email": "{}"} ',
                                     "cc {}, thanks! ", "(reply to <{}>) "]), email, entity)  # fmt: skip
        elif entity == "PHONE_NUMBER":
            doc.add_entity(r.choice(["Call me at {} tomorrow. ", "Phone: {}\n", "You can reach me on {}. ",
                                     "my mobile is {} if urgent. ", "Tel.: {} ", "text me at {}, thanks. "]),
                           self.phone(), entity)  # fmt: skip
        elif entity == "CREDIT_CARD":
            doc.add_entity(r.choice(["My card number is {} and it was charged twice. ", "card: {} exp 04/27 ",
                                     '"card_number": "{}", ', "Charge {} for the renewal. "]), self.card(), entity)  # fmt: skip
        elif entity == "US_SSN":
            doc.add_entity(
                r.choice(["My SSN is {}. ", "social security number {} on the form ", "ssn: {}\n"]),
                en.ssn(),
                entity,
            )
        elif entity == "IBAN_CODE":
            doc.add_entity(r.choice(["Please wire it to IBAN {} today. ", "IBAN: {}\n", "account {} (Sparkasse) "]),
                           self.iban(), entity)  # fmt: skip
        elif entity == "IP_ADDRESS":
            doc.add_entity(r.choice(["Requests from {} keep timing out. ", "host={} port=443 ", "ssh root@{} -p 22 ",
                                     "client ip {} blocked\n"]), self.ip(), entity)  # fmt: skip
        else:
            text, value = self.secret()
            doc.add_entity("{} ", text, entity, span_of=value)

    # -- negatives ----------------------------------------------------------------------------------

    def negative(self) -> str:
        en, r, d = self.en, self.rng, self.digits
        dt = en.date_time_between(start_date="-3y")
        options: list[Callable[[], str]] = [
            lambda: f"Order #{d(8, '123456789')} shipped. ",
            lambda: f"order number {d(10, '123456789')} was cancelled ",
            lambda: f"ORD-{dt.year}-{d(6)} ",
            lambda: f"at {dt.isoformat()}Z ",
            lambda: f"{dt:%Y-%m-%d %H:%M:%S} INFO worker started ",
            lambda: f"on {dt:%d/%m/%Y %H:%M} ",
            lambda: f"on {dt:%d.%m.%Y} ",
            lambda: f"ts={int(dt.timestamp())} ",
            lambda: f"upgraded to v{r.randint(0, 9)}.{r.randint(0, 40)}.{r.randint(0, 20)} ",
            lambda: f"version {r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)} ",
            lambda: f"build 10.0.{r.randint(10000, 22999)}.{r.randint(100, 4000)} ",
            lambda: f"request_id={en.uuid4()} ",
            lambda: f"it costs ${r.randint(1, 9)},{r.randint(100, 999)}.{r.randint(10, 99)} ",
            lambda: f"Preis: {r.randint(1, 99)}.{r.randint(100, 999)},{r.randint(10, 99)} € ",
            lambda: f"total {r.randint(1000, 99999)}.{r.randint(10, 99)} USD ",
            lambda: f"ISBN {en.isbn13()} ",
            lambda: f"ISBN {en.isbn10()} ",
            lambda: f"ISBN {en.isbn13().replace('-', '')} ",
            lambda: f"UPS tracking 1Z{self.token(6, string.ascii_uppercase + string.digits)}{d(10)} ",
            lambda: f"USPS {d(4, '9')} {d(4)} {d(4)} {d(4)} {d(4)} {d(2)} ",
            lambda: f"FedEx tracking {d(4, '123456789')} {d(4)} {d(4)} ",
            lambda: f"tracking number {d(12, '123456789')} ",
            lambda: f"EAN {en.ean13()} ",
            lambda: f"commit {en.sha1()} ",
            lambda: f"sha256:{en.sha256()} ",
            lambda: f"at {en.latitude()}, {en.longitude()} ",
            lambda: f"MAC {en.mac_address()} ",
            lambda: f"{r.randint(10, 23)}:{r.randint(10, 59)}:{r.randint(10, 59)} elapsed ",
            lambda: f"risk-assessment-framework-{dt.year} ",
            lambda: f"pip install scikit-learn=={r.randint(0, 1)}.{r.randint(0, 5)}.{r.randint(0, 3)} ",
            lambda: f"ticket {r.randint(1000, 9999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}-{r.randint(10, 99)} ",
            lambda: f"invoice {d(4, '12')}-{d(5)} ",
            lambda: f"room {r.randint(100, 999)}, floor {r.randint(1, 30)} ",
            lambda: "std::vector<int> v; use the key from config ",
            lambda: f"the password policy requires {r.randint(8, 16)} characters ",
            lambda: f"see https://example.com/docs/{en.slug()}?page={r.randint(1, 99)} ",
            lambda: f"qty {r.randint(1, 99)} x {r.randint(1, 999)}.{r.randint(10, 99)} ",
            lambda: f"{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(100, 999)} rows processed ",
            # ZIP+4 codes (many open with 0: New England, New Jersey, Puerto Rico) and digit groups of the
            # same shape: part and order numbers with one dash.
            lambda: f"{en.city()}, {en.state_abbr()} {en.zipcode_plus4()} ",
            lambda: f"Ship to {en.street_address()}, Boston, MA 0{d(4, '12345')}-{d(4)}, USA ",
            lambda: f'{{"zip": "0{d(4)}-{d(4)}"}} ',
            lambda: f"part number 0{d(4)}-{d(4)} ",
            lambda: f"P/N {d(5)}-{d(4)} rev {r.choice('ABC')} ",
            lambda: f"order #0{d(4)}-{d(4)} shipped ",
        ]  # fmt: skip
        return r.choice(options)()

    def filler(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.6:
            return self.en.paragraph(nb_sentences=r.randint(2, 6)) + " "
        if kind < 0.8:
            return (
                json.dumps({"task": self.en.bs(), "priority": r.randint(1, 5), "notes": self.en.sentence()})
                + "\n"
            )
        return f"def {self.en.word()}_{self.en.word()}(x):\n    return x * {r.randint(2, 9)}\n"

    def document(self, target_size: int) -> tuple[str, list[Label]]:
        doc = Doc()
        doc.add(
            self.rng.choice(["You are a helpful assistant. ", "Summarize the following ticket.\n", "User: "])
        )
        while doc.size < target_size:
            roll = self.rng.random()
            if roll < 0.25:
                self.positive(doc)
            elif roll < 0.55:
                doc.add(self.negative())
            else:
                doc.add(self.filler())
        return doc.text(), doc.labels


def typical_prompt(corpus: Corpus) -> str:
    """A chat prompt as most are: prose and some code or JSON, a figure or two, PII now and then."""
    r, en = corpus.rng, corpus.en
    doc = Doc()
    doc.add("You are a helpful support assistant for " + en.company() + ". Answer concisely.\n\n")
    for _ in range(r.randint(2, 8)):
        roll = r.random()
        if roll < 0.08:
            corpus.positive(doc)
        elif roll < 0.16:
            doc.add(corpus.negative())
        elif roll < 0.3:
            doc.add(
                f"```python\ndef {en.word()}_{en.word()}(items):\n    return [x for x in items if x.{en.word()}]\n```\n"
            )
        else:
            doc.add(en.paragraph(nb_sentences=r.randint(3, 8)) + "\n")
    return doc.text()


def score(docs: list[tuple[str, list[Label]]], redactor) -> dict[str, dict[str, float]]:
    tp_pred: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    found: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    misses: dict[str, list[str]] = {}
    false_pos: dict[str, list[str]] = {}
    for text, gold in docs:
        pred = redactor.find(text)
        for s, e, ent in pred:
            n_pred[ent] += 1
            if any(ent == g and s < ge and gs < e for gs, ge, g in gold):
                tp_pred[ent] += 1
            else:
                false_pos.setdefault(ent, []).append(text[max(0, s - 25) : e + 10])
        for gs, ge, g in gold:
            n_gold[g] += 1
            if any(ent == g and s < ge and gs < e for s, e, ent in pred):
                found[g] += 1
            else:
                misses.setdefault(g, []).append(text[max(0, gs - 25) : ge + 10])
    result = {}
    for ent in BUILTIN_ENTITIES:
        result[ent] = {
            "gold": n_gold[ent],
            "recall": found[ent] / n_gold[ent] if n_gold[ent] else 1.0,
            "precision": tp_pred[ent] / n_pred[ent] if n_pred[ent] else 1.0,
            "misses": misses.get(ent, [])[:3],
            "false_positives": false_pos.get(ent, [])[:3],
        }
    return result


class Sweeps:
    """CPU-time measurements taken together: ``add`` registers a job (items, what to run on each, the
    redactor whose cache to clear), ``run`` times every job's chunks ``repeat`` times, and ``seconds``
    sums each chunk's fastest pass (as ``timeit`` does: the fastest pass is the least disturbed by other
    processes on a shared machine).

    The passes are interleaved: pass 1 of every job, then pass 2 of every job, and so on. On a shared
    cloud core the same work can take twice as long for seconds at a time, whatever this process does;
    interleaving spreads each chunk's samples over the whole measurement instead of letting one slow
    stretch take all of them. The redactor's cache of repeated strings is cleared before every chunk,
    so every pass is a cold scan."""

    def __init__(self, chunk: int = 50) -> None:
        self.chunk = chunk
        self.jobs: dict[str, tuple[list[list[Any]], Callable[[Any], object], Any, list[float]]] = {}

    def add(self, name: str, items: list, run: Callable[[Any], object], redactor: Any = None) -> None:
        parts = [items[i : i + self.chunk] for i in range(0, len(items), self.chunk)]
        self.jobs[name] = (parts, run, redactor, [float("inf")] * len(parts))

    def run(self, repeat: int) -> None:
        for _ in range(repeat):
            for parts, run, redactor, best in self.jobs.values():
                for n, part in enumerate(parts):
                    if redactor is not None:
                        redactor.clear_cache()
                    start = time.process_time()
                    for item in part:
                        run(item)
                    best[n] = min(best[n], time.process_time() - start)

    def seconds(self, name: str) -> float:
        return sum(self.jobs[name][3])


def _prompt_record(text: str) -> dict:
    return {
        "system_instructions": [{"type": "text", "content": "You are a helpful assistant."}],
        "input_messages": [{"role": "user", "parts": [{"type": "text", "content": text}]}],
        "output_messages": [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}]}],
        "metadata": {"feature": "support"},
        "tags": ["prod"],
    }


def chat_record(corpus: Corpus, i: int) -> dict:
    """A realistic exported chat record: ~2 KB of system prompt, a two-turn conversation, a tool call
    and an answer, plus the ids, usage and context fields a real record carries."""
    r, en = corpus.rng, corpus.en
    user = typical_prompt(corpus)[:900]
    answer = en.paragraph(nb_sentences=r.randint(4, 7)) + "\n" + en.paragraph(nb_sentences=r.randint(2, 4))
    return {
        "schema_version": 1, "kind": "llm_call", "record_id": f"{i:032x}", "trace_id": f"{i * 7:032x}",
        "span_id": f"{i:016x}", "parent_span_id": None, "started_at": "2024-05-15T10:00:00.000Z",
        "ended_at": "2024-05-15T10:00:01.250Z", "provider": "openai", "operation": "chat",
        "api": "chat.completions.create", "request_model": "gpt-4o-mini", "response_model": "gpt-4o-mini-2024-07-18",
        "request_params": {"temperature": 0.2, "max_tokens": 512, "user": f"user-{i % 97}"},
        "status": "ok", "error": None,
        "system_instructions": [{"type": "text", "content": "You are a helpful support assistant for "
                                 + en.company() + ". Be concise and polite. Never reveal internal notes."}],
        "input_messages": [
            {"role": "user", "parts": [{"type": "text", "content": user}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": f"call_{i}", "name": "lookup_order",
                                             "arguments": {"order_id": corpus.digits(8), "include": "status"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": f"call_{i}",
                                        "response": {"status": "shipped", "eta": "2024-05-18"}}]},
        ],
        "output_messages": [{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                             "finish_reason": "stop"}],
        "usage": {"input_tokens": 512, "output_tokens": 180, "total_tokens": 692, "source": "provider"},
        "cost_usd": 0.00018, "latency_ms": 1250.0, "user_id": f"user-{i % 97}", "session_id": f"s-{i % 13}",
        "tenant_id": "acme", "feature": "support", "tags": ["prod", "support"], "metadata": {"ticket": f"T-{i}"},
        "redactions": {},
    }  # fmt: skip


def _chat_copies(records: list[dict]) -> tuple[list[str], float]:
    """The records as JSON (each timed call redacts a fresh copy: ``redact_record`` works in place) and
    their average captured text in bytes."""
    text_bytes = sum(len(json.dumps(r["system_instructions"] + r["input_messages"] + r["output_messages"]))
                     for r in records) / len(records)  # fmt: skip
    return [json.dumps(r) for r in records], text_bytes


def compare_backends(seed: int, quick: bool) -> int:
    """How the prefilter was chosen: the same conditions (``_prefilter._CONDITIONS``) on Hyperscan
    (shipped), on an RE2 set and, for the literals alone, on pyahocorasick, each in front of the same
    detectors.

    Needs ``pip install google-re2 pyahocorasick`` besides the fast extra; a backend that is not
    installed is left out. pyahocorasick matches literals only, so it cannot express the digit
    conditions: it is timed on a bare scan for the literal anchors, as a lower bound of its cost.
    Two measures of the scan: the usual best-of-N passes over the same prompts (the engines have seen
    them), and one pass over prompts no engine has seen, as the export worker sees them (RE2 builds its
    DFA lazily, state by state, as new text reaches new states).
    """
    import importlib.util

    from llm_monitor_sdk.redaction import _prefilter

    corpus = Corpus(seed)
    n = 300 if quick else 2000
    typical = [typical_prompt(corpus) for _ in range(n)]
    chats = [json.dumps(chat_record(corpus, i)) for i in range(n // 2)]
    fresh = [typical_prompt(corpus) for _ in range(n * 4)]
    gc.collect()
    gc.freeze()
    builders: dict[str, Callable[[], Any]] = {"pure Python": lambda: None}
    if _prefilter.available():
        builders["Hyperscan"] = _prefilter.build
        if importlib.util.find_spec("re2") is not None:
            builders["RE2"] = _RE2Prefilter
    redactors: dict[str, tuple[Any, Any]] = {}
    for label, make in builders.items():
        pair = tuple(build_redactor(RedactionConfig(accelerator=label != "pure Python")) for _ in range(2))
        for redactor in pair:
            redactor.find("warm up")
            if label != "pure Python":
                redactor._prefilter = make()
        redactors[label] = pair
    reference = [redactors["pure Python"][0].find(t) for t in typical]
    sweeps = Sweeps()
    for label, (text_redactor, chat_redactor) in redactors.items():
        assert [text_redactor.find(t) for t in typical] == reference, label
        sweeps.add(f"{label} text", typical, text_redactor.redact_text, text_redactor)
        sweeps.add(
            f"{label} chat",
            chats,
            lambda raw, r=chat_redactor: r.redact_record(json.loads(raw)),
            chat_redactor,
        )
        if label != "pure Python":
            sweeps.add(f"{label} scan", typical, text_redactor._prefilter.scan)
    sweeps.add("chat copy", chats, json.loads)
    literal_scan = _aho_scan()
    if literal_scan is not None:
        sweeps.add("pyahocorasick scan", typical, literal_scan)
    sweeps.run(2 if quick else 9)
    # Unseen prompts: a fresh engine of each kind, chunks taken in turn, each prompt scanned once.
    engines = {label: make() for label, make in builders.items() if label != "pure Python"}
    unseen = dict.fromkeys(engines, 0.0)
    for i in range(0, len(fresh), 100):
        chunk = fresh[i : i + 100]
        for label, engine in engines.items():
            start = time.process_time()
            for text in chunk:
                engine.scan(text)
            unseen[label] += time.process_time() - start
    size = sum(len(t.encode()) for t in typical)
    fresh_size = sum(len(t.encode()) for t in fresh)
    print(
        f"prefilter backends on {n} typical prompts ({size / 1e6:.2f} MB), one core, CPU time (same findings):"
    )
    print(f"  {'':<16}{'scan, unseen':>14}{'scan, seen':>14}{'redact_text':>14}{'chat records':>16}")
    for label in redactors:
        if label == "pure Python":
            scans = " " * 28
        else:
            scans = (f"{fresh_size / unseen[label] / 1e6:9.0f} MB/s"
                     f"{size / sweeps.seconds(f'{label} scan') / 1e6:9.0f} MB/s")  # fmt: skip
        text = size / sweeps.seconds(f"{label} text") / 1e6
        chat = len(chats) / max(sweeps.seconds(f"{label} chat") - sweeps.seconds("chat copy"), 1e-9)
        print(f"  {label:<16}{scans}{text:>9.1f} MB/s{chat:>11,.0f} rec/s")
    if literal_scan is not None:
        print(f"  {'pyahocorasick':<16}{'':14}{size / sweeps.seconds('pyahocorasick scan') / 1e6:9.0f} MB/s"
              "   (literal anchors only: cannot express the digit conditions)")  # fmt: skip
    print(
        f"(scan, unseen: {len(fresh)} other prompts, {fresh_size / 1e6:.2f} MB, each scanned once by a fresh engine)"
    )
    return 0


class _RE2Prefilter:
    """The prefilter's conditions as one RE2 set (for the comparison only). RE2 answers "no match" when
    its DFA runs out of memory, so an always-matching sentinel tells a failed scan from an empty one."""

    def __init__(self) -> None:
        import re2

        from llm_monitor_sdk.redaction import _prefilter

        self._p = _prefilter
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1
        options.max_mem = 32 << 20
        options.log_errors = False
        patterns = re2.Set.SearchSet(options)
        patterns.Add(b"")
        self._bits = [0]
        for bit, pattern, caseless in _prefilter._CONDITIONS:
            patterns.Add(b"(?i:" + pattern + b")" if caseless else pattern)
            self._bits.append(bit)
        patterns.Compile()
        self._match = patterns._set.Match

    def scan(self, text: str) -> int:
        found = self._match(text.encode("utf-8", "surrogatepass"))
        if 0 not in found:
            return self._p.ALL
        mask = 0
        for index in found:
            mask |= self._bits[index]
        if mask & self._p._SSN_LABELLED:
            mask |= self._p.SSN
        return mask


def _aho_scan() -> Callable[[str], object] | None:
    try:
        import ahocorasick
    except ImportError:
        return None
    automaton = ahocorasick.Automaton()
    for word in ("@", "::", "sk-", "glpat-", "xox", "-----BEGIN", "sk_", "rk_", "whsec_", "github_pat_", "gh",
                 "AIza", "AKIA", "ASIA", "eyJ", "://", "earer", "Basic", "password", "secret", "key", "token"):  # fmt: skip
        automaton.add_word(word, word)
    automaton.make_automaton()
    return lambda text: list(automaton.iter(text))


def _paths(choice: str) -> list[tuple[str, bool]]:
    """The paths to measure: ``(label, accelerator)``; the accelerated one only where it is installed."""
    from llm_monitor_sdk.redaction import _prefilter

    paths = []
    if choice in ("both", "pure"):
        paths.append(("pure Python", False))
    if choice in ("both", "accelerated"):
        if _prefilter.available():
            paths.append(("accelerated", True))
        else:
            print(f"accelerator not installed ({_prefilter.install_hint()}): measuring the pure path only")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus for a CI smoke run")
    parser.add_argument("--seed", type=int, default=20240515)
    parser.add_argument(
        "--path",
        choices=("both", "pure", "accelerated"),
        default="both",
        help="which redaction path to measure",
    )
    parser.add_argument(
        "--compare-backends",
        action="store_true",
        help="time the prefilter on Hyperscan, RE2 and pyahocorasick (pip install google-re2 pyahocorasick)",
    )
    args = parser.parse_args(argv)
    if args.compare_backends:
        return compare_backends(args.seed, args.quick)
    n_docs, repeat = (300, 2) if args.quick else (2000, 15)
    paths = _paths(args.path)

    t0 = time.perf_counter()
    corpus = Corpus(args.seed)
    docs = [corpus.document(corpus.rng.choice([400, 1500, 4000])) for _ in range(n_docs)]
    texts = [t for t, _ in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    build_s = time.perf_counter() - t0

    typical = [typical_prompt(corpus) for _ in range(n_docs)]
    typical_mb = sum(len(t.encode()) for t in typical) / 1e6

    findings = {}
    quality = {}
    for label, accelerated in paths:
        redactor = build_redactor(RedactionConfig(accelerator=accelerated))
        quality[label] = score(docs, redactor)
        findings[label] = [redactor.find(t) for t in texts + typical]
    agree = len({json.dumps(f) for f in findings.values()}) == 1
    # The corpus builders (six Faker locales, the labelled documents) leave a large heap behind; freeze
    # it so that the garbage collector's full passes do not bill its traversal to the redactor.
    gc.collect()
    gc.freeze()
    chats = [chat_record(corpus, i) for i in range(n_docs // 2)]
    copies, chat_bytes = _chat_copies(chats)
    typical_bytes = sum(len(t.encode()) for t in typical)
    # Both paths in one sweep: their passes interleave, so a slow stretch of the shared machine hits both.
    sweeps = Sweeps()
    for label, accelerated in paths:
        config = RedactionConfig(accelerator=accelerated)
        text_redactor, record_redactor, chat_redactor = (build_redactor(config) for _ in range(3))
        sweeps.add(f"{label} text", typical, text_redactor.redact_text, text_redactor)
        # Building the record is part of each timed call (redact_record works in place); it costs ~1 µs.
        sweeps.add(
            f"{label} record",
            typical,
            lambda t, r=record_redactor: r.redact_record(_prompt_record(t)),
            record_redactor,
        )
        sweeps.add(
            f"{label} chat",
            copies,
            lambda raw, r=chat_redactor: r.redact_record(json.loads(raw)),
            chat_redactor,
        )
    sweeps.add("chat copy", copies, json.loads)  # subtracted from "chat"
    sweeps.run(repeat)
    dense = Sweeps()
    for label, accelerated in paths:
        dense_redactor = build_redactor(RedactionConfig(accelerator=accelerated))
        dense.add(label, texts, dense_redactor.redact_text, dense_redactor)
    dense.run(1)

    print(f"corpus: {n_docs} prompts, {mb:.2f} MB, seed {args.seed} (built in {build_s:.1f} s)")
    ok = True
    first = paths[0][0]
    print(f"{'entity':<15}{'labelled':>9}{'recall':>9}{'precision':>11}   ({first})")
    for ent, row in quality[first].items():
        flag = (
            ""
            if row["recall"] >= TARGET_RECALL and row["precision"] >= TARGET_PRECISION
            else "  <-- below target"
        )
        ok = ok and not flag
        quality_ok = ok
        print(f"{ent:<15}{row['gold']:>9}{row['recall']:>9.4f}{row['precision']:>11.4f}{flag}")
        for sample in row["misses"]:
            print(f"    missed: {sample!r}")
        for sample in row["false_positives"]:
            print(f"    false positive: {sample!r}")
    if len(paths) > 1:
        print(
            f"findings of both paths on the {len(texts)} labelled and {len(typical)} typical prompts:",
            "identical" if agree else "DIFFERENT  <-- the accelerator must not change findings",
        )
        ok = ok and agree
        quality_ok = quality_ok and agree
    print(f"throughput on {n_docs} typical prompts ({typical_mb:.2f} MB), all detectors, one core "
          f"(CPU time, best of {repeat} passes):")  # fmt: skip
    print(f"  {'':<14}{'redact_text':>14}{'redact_record':>16}{'chat records':>16}{'dense corpus':>15}")
    results = {}
    for label, accelerated in paths:
        mbps = typical_bytes / sweeps.seconds(f"{label} text") / 1e6
        rec_mbps = typical_bytes / sweeps.seconds(f"{label} record") / 1e6
        chat_rps = len(chats) / max(sweeps.seconds(f"{label} chat") - sweeps.seconds("chat copy"), 1e-9)
        dense_mbps = mb / dense.seconds(label)
        results[label] = (mbps, chat_rps, accelerated)
        print(
            f"  {label:<14}{mbps:>9.1f} MB/s{rec_mbps:>11.1f} MB/s{chat_rps:>11,.0f} rec/s{dense_mbps:>10.1f} MB/s"
        )
    print(f"(chat records: {len(chats)} realistic records, ~{chat_bytes / 1000:.1f} KB of messages each; dense "
          "corpus: the labelled prompts above, an entity or look-alike every ~60 chars)")  # fmt: skip
    if args.quick:
        # A few hundred prompts timed twice: too short a run to judge speed on a shared machine.
        print(
            "smoke run (--quick): throughput figures are indicative only; run without --quick to judge the targets"
        )
        return 0 if agree else 1
    for label, (mbps, chat_rps, accelerated) in results.items():
        target = TARGET_MBPS_ACCELERATED if accelerated else TARGET_MBPS
        met = mbps >= target
        ok = ok and met
        print(f"target {label} (redact_text >= {target:.0f} MB/s on typical prompts):",
              "met" if met else f"NOT met ({mbps:.1f} MB/s)")  # fmt: skip
        print(f"export worker budget {label} ({TARGET_RECORDS_PER_S:,} chat records/s with redaction on):",
              "met" if chat_rps >= TARGET_RECORDS_PER_S else f"not met ({chat_rps:,.0f}/s)")  # fmt: skip
    print(
        "quality targets (recall, precision >= 0.99, identical findings):", "met" if quality_ok else "NOT met"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
