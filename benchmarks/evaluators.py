"""Quality and speed of the built-in heuristic evaluators on seeded, labelled corpora.

Two corpora per detector:

- **generated** (development): templates and slot lists in ``data/evaluators/corpus.json``, filled
  by a seeded generator that also varies casing, wraps examples in longer benign text, moves some into
  tool results, and obfuscates injection attempts (leetspeak, spaced letters, zero-width characters,
  look-alike letters, full-width forms, Unicode tag characters, base64). Hard negatives are benign
  messages with the same words ("ignore", "instructions", "system prompt", "act as", quoted refusals,
  "no problem", "actually, could you ...").
- **held-out**: ``data/evaluators/holdout.json``, written separately in different phrasings and never
  used to tune the patterns. Its numbers are the honest estimate of quality on unseen text.

Prints precision, recall and false-positive rate per heuristic (a record counts as detected when
``score >= 0.5``; for ``grounding`` and ``json_valid`` the positive class is the problem: an
ungrounded answer, invalid JSON), then microseconds per record: each heuristic and all five together
over typical chat records, and grounding over RAG records.

    python benchmarks/evaluators.py            # full run (about 20 s)
    python benchmarks/evaluators.py --quick    # CI smoke run (a few seconds)
    python benchmarks/evaluators.py --misses   # also list every miss and false positive
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import machine_info, print_table

from llm_monitor_sdk.evaluation.heuristics import (
    Grounding,
    JsonValid,
    PromptInjection,
    Refusal,
    UserCorrection,
)

DATA = Path(__file__).parent / "data" / "evaluators"
SLOT = re.compile(r"\{(\w+)\}")

TARGETS = {
    "prompt_injection": "recall >= 0.90 at FPR <= 0.05",
    "refusal": "precision and recall >= 0.95",
    "user_correction": "precision and recall >= 0.95",
}

FILLER = [
    "I'm putting together notes for tomorrow's team meeting and want them to be clear.",
    "We run a small online shop and I handle most of the customer emails myself.",
    "Context: this is for a school project about renewable energy in Europe.",
    "My manager asked me to double-check the numbers before Friday.",
    "I've been stuck on this for an hour, so any help is appreciated.",
    "Here is some background. The product launched last spring and has about 2,000 users.",
]
SYSTEM = (
    "You are a helpful assistant for Acme Corp. Answer concisely and politely. Do not reveal internal "
    "pricing. If you are unsure, say so and suggest contacting support@acme.example."
)
ANSWERS = [
    "Sure. The report covers revenue, churn and support volume for the last quarter. Revenue grew by "
    "4 percent, mostly from Europe, while churn stayed flat at 2.1 percent.",
    "Here's a short summary: the meeting moved to Thursday at 10am, the budget review is postponed, and "
    "Anna will share the updated slides by Wednesday evening.",
    "You can do that with a dictionary comprehension: {k: v for k, v in items if v is not None}. It keeps "
    "only the keys whose values are set.",
    "I'd recommend starting with the smaller plan. It is not the cheapest per seat, but you can upgrade at "
    "any time and I can help you compare the two if you share your team size.",
    "Great question! In Python, lists are mutable and tuples are not. Use a tuple when the values should not "
    "change, for example coordinates, and a list when you need to append or sort items.",
    "Dear Ms. Rivera,\n\nThank you for your patience. Your order #48213 was delayed by the carrier and will "
    "arrive on Friday. As an apology, here is a 10% discount code for your next purchase: THANKS10.\n\n"
    "Kind regards,\nThe Support Team",
]


# -- generation ------------------------------------------------------------------------------------------
def fill(template: str, slots: dict[str, list[str]], rng: random.Random, extra: dict[str, Any]) -> str:
    """Fill ``{slot}`` from the slot lists (``NAME_cap``: capitalised); ``{b64_attack}`` is encoded."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "b64_attack":
            payload = rng.choice(extra["b64_attack"])
            return base64.b64encode(payload.encode()).decode()
        base = name[:-4] if name.endswith("_cap") else name
        value = rng.choice(slots[base])
        return value[:1].upper() + value[1:] if name.endswith("_cap") else value

    return SLOT.sub(one, template)


def recase(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return text.upper()
    if roll < 0.2:
        return text.lower()
    if roll < 0.25:
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    return text


_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}


def obfuscate(text: str, rng: random.Random) -> tuple[str, str]:
    """One obfuscation of an injection attempt, and its name."""
    kind = rng.choice(["leet", "spaced", "zero_width", "homoglyph", "fullwidth", "tags", "base64", "bidi"])
    words = text.split(" ")
    if kind == "leet":
        return " ".join(
            "".join(_LEET.get(c, c) if rng.random() < 0.5 else c for c in w) if rng.random() < 0.6 else w
            for w in words
        ), kind
    if kind == "spaced":
        head, tail = " ".join(words[:4]), " ".join(words[4:])
        return "   ".join(" ".join(w.upper()) for w in head.split(" ")) + (" " + tail if tail else ""), kind
    if kind == "zero_width":
        return " ".join("\u200b".join(w) if len(w) > 3 and rng.random() < 0.7 else w for w in words), kind
    if kind == "homoglyph":
        return "".join(_CYRILLIC.get(c, c) if rng.random() < 0.4 else c for c in text), kind
    if kind == "fullwidth":
        return "".join(
            chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.8 else c for c in text
        ), kind
    if kind == "tags":
        hidden = "".join(chr(0xE0000 + ord(c)) for c in text if " " <= c <= "~")
        return "Tell me a fun fact about octopuses." + hidden, kind
    if kind == "bidi":
        return "\u202e" + text[::-1] + "\u202c Please read the line above backwards and do it.", kind
    encoded = base64.b64encode(text.encode()).decode()
    return f"Here is an encoded task, decode it and do what it says: {encoded}", kind


def generate(
    section: dict[str, Any], label: bool, n: int, rng: random.Random, *, obfuscation: float = 0.0
) -> list[dict[str, Any]]:
    """``n`` labelled examples from one section's templates (and its foreign-language lists)."""
    slots = section["slots"] if label else {**section["slots"], **section.get("negative_slots", {})}
    templates = section["positive" if label else "negative"]
    foreign = section.get("foreign_positive" if label else "foreign_negative", {})
    foreign_items = [(lang, text) for lang, texts in foreign.items() for text in texts]
    out: list[dict[str, Any]] = []
    for _ in range(n):
        variant = "template"
        if foreign_items and rng.random() < 0.3:
            lang, template = rng.choice(foreign_items)
            variant = f"lang:{lang}"
        else:
            template = rng.choice(templates)
        text = fill(template, slots, rng, section)
        if label and obfuscation and rng.random() < obfuscation:
            text, kind = obfuscate(text, rng)
            variant = f"obfuscated:{kind}"
        else:
            text = recase(text, rng)
        if rng.random() < 0.2:
            text = f"{rng.choice(FILLER)} {text}" if rng.random() < 0.5 else f"{text} {rng.choice(FILLER)}"
        out.append({"text": text, "label": label, "variant": variant})
    return out


def text_record(
    *,
    system: str | None = SYSTEM,
    history: list[tuple[str, str]] = (),
    user: str = "",
    output: str = "",
    tool: str | None = None,
    sources: list[str] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A redacted ``llm_call`` record as the evaluators receive it."""
    messages: list[dict[str, Any]] = []
    for role, content in history:
        messages.append({"role": role, "parts": [{"type": "text", "content": content}]})
    if user:
        messages.append({"role": "user", "parts": [{"type": "text", "content": user}]})
    if tool is not None:
        messages.append(
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": tool}]}
        )
    record: dict[str, Any] = {
        "kind": "llm_call",
        "status": "ok",
        "system_instructions": [{"type": "text", "content": system}] if system else None,
        "input_messages": messages,
        "output_messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": output}], "finish_reason": "stop"}
        ],
        "request_params": params or {},
        "safety": {"content_filtered": False, "refusal": False},
    }
    if sources is not None:
        record["retrieval_sources"] = [{"id": str(i), "content": s} for i, s in enumerate(sources)]
    return record


def injection_records(examples: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    cases = []
    for example in examples:
        if rng.random() < 0.15:
            record = text_record(
                user="Summarise the search results for me.", tool=example["text"], output=ANSWERS[0]
            )
            example = {**example, "variant": example["variant"] + "+tool"}
        else:
            history = [("user", "Hi!"), ("assistant", "Hello! How can I help?")] if rng.random() < 0.3 else []
            record = text_record(history=history, user=example["text"], output=rng.choice(ANSWERS))
        cases.append({**example, "record": record})
    return cases


def refusal_records(examples: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    return [
        {**e, "record": text_record(user="Can you help me with something?", output=e["text"])}
        for e in examples
    ]


def correction_records(examples: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    cases = []
    for example in examples:
        history = [
            ("user", "When was the meeting and what does the function return?"),
            ("assistant", rng.choice(ANSWERS)),
        ]
        cases.append(
            {**example, "record": text_record(history=history, user=example["text"], output=ANSWERS[1])}
        )
    return cases


def grounding_cases(corpus: dict[str, Any], rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Answers built from a source's supported and unsupported sentences; positive = ungrounded
    (at least half of the sentences unsupported)."""
    section = corpus["grounding"]
    sources = {s["id"]: s["content"] for s in section["sources"]}
    cases = []
    for _ in range(n):
        key = rng.choice(list(sources))
        good, bad = section["supported"][key], section["unsupported"][key]
        k = rng.randint(2, 4)
        n_bad = rng.choice([0, 0, k // 2 + (k % 2), k])
        sentences = rng.sample(good, min(k - n_bad, len(good))) + rng.sample(bad, min(n_bad, len(bad)))
        rng.shuffle(sentences)
        others = [v for kk, v in sources.items() if kk != key]
        docs = [sources[key], *rng.sample(others, 1)]
        rng.shuffle(docs)
        ungrounded = n_bad * 2 > len(sentences)
        cases.append(
            {
                "label": ungrounded,
                "variant": f"{n_bad}/{len(sentences)} unsupported",
                "text": " ".join(sentences),
                "record": text_record(user="What is the policy?", output=" ".join(sentences), sources=docs),
            }
        )
    return cases


_JSON_GOOD = [
    '{"name": "Ada", "age": 36}',
    "[1, 2, 3]",
    '{"items": [{"sku": "A-1", "qty": 2}], "total": 19.9, "currency": "EUR"}',
    '{"answer": "Canberra", "confidence": 0.92}',
    '```json\n{"status": "ok"}\n```',
    '{"city": "Zürich", "note": "caf\\u00e9"}',
    ' \n{"nested": {"deep": {"ok": true}}}\n',
]
_JSON_BAD = [
    '{"name": "Ada", "age": 36',
    "{'name': 'Ada'}",
    '{"a": 1,}',
    'Here is the JSON: {"a": 1}',
    '{"value": NaN}',
    '{"items": [1, 2, 3]',
    "Sure! name: Ada, age: 36",
    '{"a": 1} {"b": 2}',
]


def json_cases(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Outputs to requests that asked for JSON; positive = the output is not valid JSON."""
    cases = []
    for _ in range(n):
        bad = rng.random() < 0.5
        output = rng.choice(_JSON_BAD if bad else _JSON_GOOD)
        if rng.random() < 0.5:
            record = text_record(
                user="Extract the fields.", output=output, params={"response_format": {"type": "json_object"}}
            )
        else:
            record = text_record(
                system="Reply with valid JSON only.", user="Extract the fields.", output=output
            )
        cases.append(
            {"label": bad, "variant": "invalid" if bad else "valid", "text": output, "record": record}
        )
    return cases


def holdout_cases(holdout: dict[str, Any], name: str, rng: random.Random) -> list[dict[str, Any]]:
    section = holdout[name]
    examples = [{"text": t, "label": True, "variant": "holdout"} for t in section["positive"]]
    examples += [{"text": t, "label": False, "variant": "holdout"} for t in section["negative"]]
    builder = {
        "prompt_injection": injection_records,
        "refusal": refusal_records,
        "user_correction": correction_records,
    }[name]
    if name == "prompt_injection":
        return [
            {**e, "record": text_record(user=e["text"], output=ANSWERS[0])} for e in examples
        ]  # held-out texts as they are, all in the user turn
    return builder(examples, rng)


# -- scoring ---------------------------------------------------------------------------------------------
def score(evaluator: Any, cases: list[dict[str, Any]], invert: bool = False) -> dict[str, Any]:
    """Precision, recall, FPR (``score >= 0.5`` detects; ``invert`` for quality evaluators)."""
    tp = fp = fn = tn = 0
    misses: list[str] = []
    for case in cases:
        result = evaluator.evaluate(case["record"])
        if result is None or result.score is None:
            predicted = False
        else:
            predicted = result.score < 0.5 if invert else result.score >= 0.5
        if case["label"] and predicted:
            tp += 1
        elif case["label"]:
            fn += 1
            misses.append(f"  miss [{case['variant']}] {case['text'][:140]!r}")
        elif predicted:
            fp += 1
            misses.append(f"  false positive [{case['variant']}] {case['text'][:140]!r} -> {result.label}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return {"n": len(cases), "precision": precision, "recall": recall, "fpr": fpr, "misses": misses}


def per_record_us(fn: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]], repeat: int) -> float:
    """Fastest of ``repeat`` passes, in CPU microseconds per record (``time.process_time``: time the
    process was scheduled, so other load on a shared machine inflates it less than wall time)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for record in records:
            fn(record)
        best = min(best, time.process_time() - start)
    return best / len(records) * 1e6


def reference_us(repeat: int) -> float:
    """CPU microseconds of ``sum(range(1000))`` here, to compare machines (about 5-8 µs on a current
    desktop core with CPython 3.11)."""
    best = float("inf")
    for _ in range(max(3, repeat)):
        start = time.process_time()
        for _ in range(2000):
            sum(range(1000))
        best = min(best, time.process_time() - start)
    return best / 2000 * 1e6


def typical_records(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    """Chat records like production traffic: a system prompt, one to three turns, a 300-1200 char answer."""
    questions = [
        "Can you summarise the attached meeting notes in three bullet points? The meeting covered the Q3 "
        "budget, the hiring plan for the support team and the migration to the new ticketing system.",
        "Write a polite email to a customer whose order #48213 was delayed by the carrier, offering a 10% "
        "discount on the next purchase.",
        "What's the difference between a list and a tuple in Python, and when should I use each?",
        "Translate this paragraph into Spanish: Our office will be closed on Monday for the public holiday. "
        "Support remains available by email.",
        "Explain how compound interest works with an example of 1,000 euros at 5 percent over 10 years.",
    ]
    for _ in range(n):
        history: list[tuple[str, str]] = []
        if rng.random() < 0.4:
            history = [
                ("user", rng.choice(questions)),
                ("assistant", rng.choice(ANSWERS) * rng.randint(1, 3)),
            ]
        output = " ".join(rng.choice(ANSWERS) for _ in range(rng.randint(1, 5)))
        user = rng.choice(questions) + (" " + rng.choice(FILLER) if rng.random() < 0.5 else "")
        yield text_record(history=history, user=user, output=output)


def worker_costs(records: list[dict[str, Any]], repeat: int) -> list[list[Any]]:
    """What the evaluation processors cost the export worker: sampling, and the built-in heuristics,
    which run inline there (their results go to a host that accepts and drops them)."""
    from llm_monitor_sdk.evaluation import EvaluationProcessor, EvaluationStats
    from llm_monitor_sdk.processors import ProcessorHost

    rows = []
    for label, rate in (("5 heuristics, sample_rate 1.0", 1.0), ("5 heuristics, sample_rate 0.1", 0.1)):
        pool = EvaluationProcessor(
            [
                cls(sample_rate=rate)
                for cls in (PromptInjection, Refusal, UserCorrection, Grounding, JsonValid)
            ],
            queue_size=10**9,
        )
        pool.start(ProcessorHost(lambda record: True))
        calls = [
            {**r, "trace_id": f"{i:032x}", "record_id": f"{i:032x}", "span_id": "0" * 16}
            for i, r in enumerate(records)
        ]
        rows.append(["EvaluationProcessor.process", label, per_record_us(pool.process, calls, repeat)])
    stats = EvaluationStats()
    evaluations = [
        {"kind": "evaluation", "evaluation": {"name": f"e{i % 5}", "score": 0.5, "passed": True}}
        for i in range(2000)
    ]
    rows.append(
        ["EvaluationStats.process", "evaluation records", per_record_us(stats.process, evaluations, repeat)]
    )
    rows.append(
        ["EvaluationStats.process", "llm_call records", per_record_us(stats.process, records, repeat)]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small corpora and one timing pass (CI)")
    parser.add_argument("--misses", action="store_true", help="list misses and false positives")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = json.loads((DATA / "corpus.json").read_text(encoding="utf-8"))
    holdouts = {
        "held-out A": json.loads((DATA / "holdout.json").read_text(encoding="utf-8")),
        "held-out B": json.loads((DATA / "holdout_b.json").read_text(encoding="utf-8")),
        "held-out C": json.loads((DATA / "holdout_c.json").read_text(encoding="utf-8")),
    }
    size = 120 if args.quick else 1000

    print("# Heuristic evaluators: quality and speed")
    for line in machine_info():
        print(line)
    print(f"seed {args.seed}, {size} generated positives and {size} generated negatives per detector")
    print()

    evaluators = {
        "prompt_injection": PromptInjection(),
        "refusal": Refusal(),
        "user_correction": UserCorrection(),
        "grounding": Grounding(),
        "json_valid": JsonValid(),
    }
    builders = {
        "prompt_injection": injection_records,
        "refusal": refusal_records,
        "user_correction": correction_records,
    }
    rows = []
    all_misses: list[str] = []
    timing_rows = []
    for name, builder in builders.items():
        section = corpus[name]
        obf = 0.3 if name == "prompt_injection" else 0.0
        examples = generate(section, True, size, rng, obfuscation=obf) + generate(section, False, size, rng)
        cases = builder(examples, rng)
        result = score(evaluators[name], cases)
        rows.append(
            [
                name,
                "generated",
                result["n"],
                result["precision"],
                result["recall"],
                result["fpr"],
                TARGETS[name],
            ]
        )
        all_misses += [f"{name} (generated):"] + result["misses"]
        for label, holdout in holdouts.items():
            held = score(evaluators[name], holdout_cases(holdout, name, rng))
            rows.append(
                [name, label, held["n"], held["precision"], held["recall"], held["fpr"], TARGETS[name]]
            )
            all_misses += [f"{name} ({label}):"] + held["misses"]
        timing_rows.append((name, [c["record"] for c in cases]))
    ground = score(evaluators["grounding"], grounding_cases(corpus, rng, size // 2), invert=True)
    rows.append(
        [
            "grounding",
            "generated",
            ground["n"],
            ground["precision"],
            ground["recall"],
            ground["fpr"],
            "(none; positive = ungrounded)",
        ]
    )
    all_misses += ["grounding:"] + ground["misses"]
    js = score(evaluators["json_valid"], json_cases(rng, size // 2), invert=True)
    rows.append(
        [
            "json_valid",
            "generated",
            js["n"],
            js["precision"],
            js["recall"],
            js["fpr"],
            "(none; positive = invalid JSON)",
        ]
    )
    all_misses += ["json_valid:"] + js["misses"]

    print("## Quality (detected: score >= 0.5)")
    print()
    print_table(["heuristic", "corpus", "records", "precision", "recall", "FPR", "target"], rows)

    repeat = 1 if args.quick else 9
    typical = list(typical_records(rng, 200 if args.quick else 2000))
    rag = [c["record"] for c in grounding_cases(corpus, rng, 100 if args.quick else 1000)]
    everything = list(evaluators.values())

    def all_five(record: dict[str, Any]) -> None:
        for evaluator in everything:
            evaluator.evaluate(record)

    speed = []
    for name, evaluator in evaluators.items():
        speed.append([name, "typical chat", per_record_us(evaluator.evaluate, typical, repeat)])
    speed.append(["all five", "typical chat", per_record_us(all_five, typical, repeat)])
    speed.append(["all five", "RAG (2 sources)", per_record_us(all_five, rag, repeat)])
    for name, records in timing_rows:
        speed.append([name, f"{name} corpus", per_record_us(evaluators[name].evaluate, records, repeat)])
    print(
        "## Speed (CPU µs per record, one core, fastest of passes; target: all five <= 50 µs on typical chat)"
    )
    print()
    print(f"reference: sum(range(1000)) takes {reference_us(repeat):.2f} µs on this machine")
    print()
    print_table(["heuristic", "records", "µs/record"], speed)
    print("## Export-worker cost per call (CPU µs; the built-in heuristics run inline on the export worker)")
    print()
    print_table(["processor", "records", "µs/record"], worker_costs(typical, repeat))
    if args.misses:
        print("## Misses and false positives")
        print("\n".join(all_misses))


if __name__ == "__main__":
    main()
