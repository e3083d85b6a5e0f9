# ruff: noqa: RUF001 - the patterns hold look-alike letters and full-width punctuation on purpose
"""The built-in heuristic evaluators: no LLM, cheap enough for every call.

| name | kind | reads | score |
|---|---|---|---|
| ``refusal`` | detector | the output (provider refusal fields, then the opening of the text) | 1 = declines |
| ``prompt_injection`` | detector | the latest user turn and tool results | 1 = injection attempt |
| ``user_correction`` | detector | the latest user message after an assistant turn | 1 = corrects it |
| ``grounding`` | quality | output sentences against ``retrieval_sources`` | share supported |
| ``json_valid`` | quality | the output, when the request asked for JSON | 1 = parses |

Detectors: ``passed = score < 0.5``. Quality evaluators: ``passed = score >= threshold``. Each returns
``None`` ("does not apply": no evaluation record) when the record has nothing for it to read: no
output text, no user turn, no previous assistant turn, no retrieval sources, no JSON request.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ._base import Evaluation, check_rate
from ._patterns import correction_score, injection_score, refusal_score
from ._text import view


class Heuristic:
    """Shared attributes of the built-in heuristics (``source="heuristic"``, redacted input)."""

    name = "heuristic"
    source = "heuristic"
    raw = False
    include_errors = False
    #: The built-ins never change the record: the pool may hand them one shared copy.
    shares_record = True

    def __init__(self, *, sample_rate: float = 1.0, name: str | None = None) -> None:
        self.sample_rate = check_rate(sample_rate, f"evaluator {name or self.name!r}")
        if name is not None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"evaluator name must be a non-empty str, not {name!r}")
            self.name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} sample_rate={self.sample_rate}>"

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:  # pragma: no cover - abstract
        """Score one ``llm_call`` record."""
        raise NotImplementedError


_CLEAN: dict[str, Evaluation] = {}


def _detector(name: str, score: float, label: str | None, evidence: str | None) -> Evaluation:
    if score == 0.0:
        # Nothing found: the same immutable result every time (most calls; saves building one).
        clean = _CLEAN.get(name)
        if clean is None:
            clean = _CLEAN[name] = Evaluation(name, score=0.0, passed=True, source="heuristic")
        return clean
    return Evaluation(
        name,
        score=score,
        passed=score < 0.5,
        label=label if score >= 0.5 else None,
        explanation=evidence if score >= 0.5 else None,
        source="heuristic",
    )


class Refusal(Heuristic):
    """The output declines the request: a provider refusal field (OpenAI ``refusal`` parts, Anthropic
    ``stop_reason="refusal"``, a content filter) or a decline phrase opening the answer, in English
    and a dozen other languages. A refusal quoted or discussed inside an answer does not count."""

    name = "refusal"

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Score the record's output; ``None`` without any output."""
        safety = record.get("safety")
        if isinstance(safety, dict):
            if safety.get("refusal") is True:
                return _detector(self.name, 1.0, "refusal", "provider refusal")
            if safety.get("content_filtered") is True:
                return _detector(self.name, 1.0, "content_filter", "provider content filter")
        texts = view(record)
        parts = texts.refusal_parts()
        if parts:
            return _detector(self.name, 1.0, "refusal", parts[0][:80])
        outputs = texts.outputs()
        if not outputs or not any(outputs):
            return None
        best: tuple[float, str | None, str | None] = (0.0, None, None)
        for text in outputs:
            found = refusal_score(text)
            if found[0] > best[0]:
                best = found
        return _detector(self.name, *best)


class PromptInjection(Heuristic):
    """The latest user turn (or a tool result in it) tries to override the instructions, pull out
    the system prompt, switch the model into an unrestricted persona, fake a system turn with chat
    template tokens or role headers, hide text in invisible characters, or smuggle any of those in
    base64; in English and a dozen other languages, with leetspeak, spacing and look-alike letters
    undone first."""

    name = "prompt_injection"
    #: Longest text scanned from each message (head and tail are kept beyond that).
    max_chars = 20_000

    def _scan(self, text: str) -> tuple[float, str | None, str | None]:
        if len(text) > self.max_chars:
            half = self.max_chars // 2
            text = text[:half] + "\n" + text[-half:]
        return injection_score(text)

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Score the latest user turn and tool results; ``None`` when there is neither."""
        texts = view(record)
        user = texts.latest_user_text()
        tools = texts.tool_results()
        if not user and not tools:
            return None
        best = self._scan(user) if user else (0.0, None, None)
        for result in tools:
            found = self._scan(result)
            if found[0] > best[0]:
                label = found[1]
                best = (found[0], f"tool_result:{label}" if label else None, found[2])
        return _detector(self.name, *best)


class UserCorrection(Heuristic):
    """The latest user message corrects the previous assistant turn ("that's wrong", "no, I meant
    ...", "actually it's X, not Y", "you forgot ..."), in English and a dozen other languages. Polite
    openers ("no problem", "actually, that works") are not corrections. Needs an assistant turn
    before the user's message: without one there is nothing to correct."""

    name = "user_correction"

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Score the latest user message; ``None`` without a previous assistant turn."""
        texts = view(record)
        if texts.previous_assistant_text() is None:
            return None
        user = texts.latest_user_text()
        if not user:
            return None
        return _detector(self.name, *correction_score(user))


# -- grounding -------------------------------------------------------------------------------------------
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "their",
        "they",
        "them",
        "we",
        "us",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "he",
        "him",
        "his",
        "she",
        "her",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "also",
        "just",
        "only",
        "very",
        "more",
        "most",
        "less",
        "least",
        "than",
        "too",
        "such",
        "any",
        "some",
        "all",
        "each",
        "every",
        "both",
        "either",
        "neither",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "per",
        "via",
        "within",
        "without",
        "between",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "y",
        "o",
        "de",
        "del",
        "en",
        "por",
        "para",
        "con",
        "que",
        "es",
        "son",
        "se",
        "al",
        "lo",
        "le",
        "les",
        "du",
        "des",
        "et",
        "est",
        "sont",
        "une",
        "dans",
        "pour",
        "avec",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "sind",
        "ein",
        "eine",
        "den",
        "dem",
        "mit",
        "von",
        "zu",
        "auf",
        "für",
        "il",
        "di",
        "che",
        "per",
        "non",
    ]
)
_SUFFIXES = (
    "ational",
    "ization",
    "fulness",
    "iveness",
    "ations",
    "ation",
    "ments",
    "ment",
    "ness",
    "ings",
    "ing",
    "edly",
    "ies",
    "ied",
    "ers",
    "er",
    "ed",
    "ly",
    "es",
    "s",
)
_stems: dict[str, str] = {}


def stem(word: str) -> str:
    """A light suffix-stripping stem (the same on both sides is what matters): ``refunds`` and
    ``refunded`` -> ``refund``, ``deliveries`` -> ``deliver``."""
    found = _stems.get(word)
    if found is not None:
        return found
    result = word
    if len(word) > 3 and not word.isdigit():
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                result = word[: -len(suffix)]
                if suffix in ("ies", "ied"):
                    result += "y"  # countries, carried -> country, carry
                break
        if result.endswith("y") and len(result) > 4:
            result = result[:-1]  # delivery, deliver; country, countri
        if result.endswith("e") and len(result) > 4:
            result = result[:-1]  # issue/issued, rotate/rotating
    if len(_stems) < 50_000:
        _stems[word] = result
    return result


def content_stems(text: str) -> list[str]:
    """Stems of the words of ``text`` that carry content (stopwords and one-letter words dropped)."""
    words = _WORD.findall(text.casefold())
    return [stem(w) for w in words if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())]


class Grounding(Heuristic):
    """Share of output sentences supported by the record's ``retrieval_sources``.

    A sentence is supported when at least ``support`` of its content words (stemmed, stopwords
    dropped) occur in the sources and every number in it does too. Sentences with fewer than two
    content words are not judged. ``None`` when the record has no sources or no judged sentence.
    """

    name = "grounding"

    def __init__(
        self,
        *,
        sample_rate: float = 1.0,
        threshold: float = 0.5,
        support: float = 0.7,
        name: str | None = None,
    ) -> None:
        super().__init__(sample_rate=sample_rate, name=name)
        for label, value in (("threshold", threshold), ("support", support)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"grounding {label} must be a number from 0.0 to 1.0, not {value!r}")
        self.threshold = float(threshold)
        self.support = float(support)

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Score the output against the sources; ``None`` without sources or judged sentences."""
        texts = view(record)
        sources = texts.sources()
        if not sources:
            return None
        output = texts.output_text()
        if not output:
            return None
        return self.score_text(output, sources)

    def score_text(self, output: str, sources: list[str]) -> Evaluation | None:
        """Score ``output`` against ``sources`` (the same rule as :meth:`evaluate`)."""
        numbers: set[str] = set()
        vocabulary: set[str] = set()
        source_sentences: list[tuple[frozenset[str], bool]] = []
        for source in sources:
            source_numbers, source_vocabulary, sentences = _analyse_source(source)
            numbers |= source_numbers
            vocabulary |= source_vocabulary
            source_sentences.extend(sentences)
        del source_sentences[_MAX_SOURCE_SENTENCES:]
        judged = supported = 0
        unsupported: list[str] = []
        for sentence in _SENTENCE_SPLIT.split(output):
            words = content_stems(sentence)
            if len(words) < 2:
                continue
            judged += 1
            if self._supported(sentence, words, vocabulary, numbers, source_sentences):
                supported += 1
            elif len(unsupported) < 3:
                unsupported.append(sentence.strip()[:80])
        if not judged:
            return None
        score = supported / judged
        explanation = f"{supported} of {judged} sentences supported"
        if unsupported:
            explanation += "; unsupported: " + " | ".join(unsupported)
        return Evaluation(
            self.name,
            score=round(score, 4),
            passed=score >= self.threshold,
            label="grounded" if score >= self.threshold else "ungrounded",
            explanation=explanation,
            source="heuristic",
        )

    def _supported(
        self,
        sentence: str,
        words: list[str],
        vocabulary: set[str],
        numbers: set[str],
        source_sentences: list[tuple[frozenset[str], bool]],
    ) -> bool:
        hits = sum(1 for w in words if w in vocabulary)
        if hits < self.support * len(words) or not _numbers(sentence) <= numbers:
            return False
        # The closest source sentence must say it with the same polarity ("covers" vs "does not cover").
        stems = set(words)
        best, negated = 0, False
        for source_stems, source_negated in source_sentences:
            overlap = len(stems & source_stems)
            if overlap > best:
                best, negated = overlap, source_negated
        return best == 0 or negated == _negated(sentence)


_MAX_SOURCE_SENTENCES = 2000
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|won't|don't|doesn't|isn't|aren't|wasn't|weren't|without|neither|nor|"
    r"none|nothing|nobody|unable)\b|n't\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "ninety": "90", "hundred": "100", "thousand": "1000",
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _analyse(source: str) -> tuple[frozenset[str], frozenset[str], tuple[tuple[frozenset[str], bool], ...]]:
    sentences = []
    vocabulary: set[str] = set()
    for sentence in _SENTENCE_SPLIT.split(source)[:_MAX_SOURCE_SENTENCES]:
        stems = frozenset(content_stems(sentence))
        if stems:
            vocabulary |= stems
            sentences.append((stems, _negated(sentence)))
    return frozenset(_numbers(source)), frozenset(vocabulary), tuple(sentences)


_analyse_cached = functools.lru_cache(maxsize=512)(_analyse)


def _analyse_source(
    source: str,
) -> tuple[frozenset[str], frozenset[str], tuple[tuple[frozenset[str], bool], ...]]:
    """Numbers, content stems and per-sentence stems of one source (cached for sources up to 10 000
    characters: a knowledge base's chunks come back again and again)."""
    return _analyse_cached(source) if len(source) <= 10_000 else _analyse(source)


def _negated(sentence: str) -> bool:
    return _NEGATION.search(sentence) is not None


def _numbers(text: str) -> set[str]:
    """Numbers in ``text`` (digits, and English number words as digits)."""
    found = {n.replace(",", ".") for n in _NUMBER.findall(text)}
    if _NUMBER_WORD.search(text):
        found.update(_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text))
    return found


# -- json ------------------------------------------------------------------------------------------------
_JSON_HINT = re.compile(
    r"\b(?:respond|reply|answer|output|return|format|formatted|give|write|provide)\b[^.\n]{0,40}\bjson\b|"
    r"\bjson (?:object|format|only|array|schema)\b|\bvalid json\b|\bas json\b|\bin json\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.S)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _strict_loads(text: str) -> Any:
    """``json.loads`` that also rejects ``NaN`` and ``Infinity`` (Python accepts them, JSON does not)."""
    return json.loads(text, parse_constant=_reject_constant)


def _why(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def _schema_of(params: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """Whether ``request_params`` ask for JSON, and the JSON schema when one was given."""
    fmt = params.get("response_format")  # OpenAI chat completions
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        schema = fmt.get("json_schema")
        if isinstance(schema, dict):
            inner = schema.get("schema")
            return True, inner if isinstance(inner, dict) else None
        return True, None
    text = params.get("text")  # OpenAI Responses
    if isinstance(text, dict):
        inner_fmt = text.get("format")
        if isinstance(inner_fmt, dict) and inner_fmt.get("type") in ("json_object", "json_schema"):
            schema = inner_fmt.get("schema")
            return True, schema if isinstance(schema, dict) else None
    mime = params.get("response_mime_type")  # Gemini
    if isinstance(mime, str) and mime.lower().startswith("application/json"):
        return True, None
    for key in ("output_format", "output_config"):  # Anthropic structured outputs
        value = params.get(key)
        if isinstance(value, dict):
            inner_fmt = value.get("format", value)
            if isinstance(inner_fmt, dict) and inner_fmt.get("type") in ("json_schema", "json"):
                schema = inner_fmt.get("schema")
                return True, schema if isinstance(schema, dict) else None
    return False, None


def _schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """The first top-level mismatch with ``schema`` (type, required keys), or ``None``."""
    kind = schema.get("type")
    expected = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind in expected and not isinstance(value, expected[kind]):
        return f"expected a JSON {kind}, got {type(value).__name__}"
    if kind in ("number", "integer") and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"expected a JSON {kind}, got {type(value).__name__}"
    required = schema.get("required")
    if isinstance(value, dict) and isinstance(required, list):
        missing = [key for key in required if isinstance(key, str) and key not in value]
        if missing:
            return "missing required keys: " + ", ".join(missing[:5])
    return None


class JsonValid(Heuristic):
    """The output parses as JSON, when the request asked for it: a JSON mode or schema in the
    request parameters (OpenAI ``response_format`` / Responses ``text.format``, Gemini
    ``response_mime_type``, Anthropic ``output_format``), or a system/user instruction to answer in
    JSON. One surrounding Markdown code fence is tolerated (``label="fenced"``). With a schema, the
    top-level type and required keys are checked too. ``None`` when JSON was not asked for."""

    name = "json_valid"

    def __init__(self, *, sample_rate: float = 1.0, threshold: float = 0.5, name: str | None = None) -> None:
        super().__init__(sample_rate=sample_rate, name=name)
        self.threshold = threshold

    def _asked(self, record: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        params = record.get("request_params")
        if isinstance(params, dict):
            asked, schema = _schema_of(params)
            if asked:
                return True, schema
        texts = view(record)
        for part in record.get("system_instructions") or ():
            content = part.get("content") if isinstance(part, dict) else part
            if isinstance(content, str) and "json" in content.lower() and _JSON_HINT.search(content):
                return True, None
        user = texts.latest_user_text()
        return ("json" in user.lower() and _JSON_HINT.search(user) is not None), None

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Parse the output; ``None`` when the request did not ask for JSON or there is no output."""
        asked, schema = self._asked(record)
        if not asked:
            return None
        texts = view(record)
        outputs = texts.outputs()
        if not outputs or not any(outputs):
            return None
        problems: list[str] = []
        fenced = False
        for text in outputs:
            candidate = text.strip()
            try:
                value = _strict_loads(candidate)
            except ValueError as exc:
                fence = _FENCE.match(candidate)
                if fence is None:
                    problems.append(f"invalid JSON: {_why(exc)}")
                    continue
                try:
                    value = _strict_loads(fence.group(1))
                except ValueError as inner:
                    problems.append(f"invalid JSON in code fence: {_why(inner)}")
                    continue
                fenced = True
            if schema is not None:
                problem = _schema_problem(value, schema)
                if problem:
                    problems.append(problem)
        if problems:
            label = "schema_mismatch" if problems[0].startswith(("expected", "missing")) else "invalid"
            return Evaluation(
                self.name,
                score=0.0,
                passed=self.threshold <= 0.0,
                label=label,
                explanation=problems[0][:200],
                source="heuristic",
            )
        return Evaluation(
            self.name, score=1.0, passed=True, label="fenced" if fenced else "valid", source="heuristic"
        )


#: The built-in heuristics by their ``LLM_MONITOR_EVALUATORS`` name.
HEURISTICS: dict[str, type[Heuristic]] = {
    "refusal": Refusal,
    "prompt_injection": PromptInjection,
    "user_correction": UserCorrection,
    "grounding": Grounding,
    "json_valid": JsonValid,
}

__all__ = [
    "HEURISTICS",
    "Grounding",
    "Heuristic",
    "JsonValid",
    "PromptInjection",
    "Refusal",
    "UserCorrection",
    "content_stems",
    "stem",
]
