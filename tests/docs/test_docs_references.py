"""Every extra, file, command, environment variable and relative link that README.md and docs/ name exists.

What is checked, and where (so that code blocks showing *user* code raise no false alarm):

- extras: ``<distribution>[a,b]`` anywhere (install commands live in code blocks) and "the `NAME` extra"
  in prose; each must be a key of ``[project.optional-dependencies]``;
- files: inline code spans and link targets that start with one of the repository's own folders
  (``src/``, ``docs/``, ``benchmarks/``, ``examples/``, ``scripts/``, ``changes/``, ``.ci/``; ``tests/`` only
  as ``tests/<area>/<file>``), package paths (``llm_monitor_sdk/...``) and the top-level documents
  (``README.md``, ``CONTRACT.md``, ...); inside fenced code blocks only the folders no user project has
  (``src/llm_monitor_sdk``, ``benchmarks/``, ``examples/``, ``scripts/``, ``.ci/``, ``docs/``);
- commands: ``llm-monitor SUB [SUBSUB]`` at the start of an inline code span or of a command line in
  a fenced block (after a ``$`` prompt, ``&&``, ``|`` or ``;``); ``SUB`` must be a subcommand of
  ``llm_monitor_sdk.cli.build_parser()`` and ``SUBSUB`` one of its own subcommands when it has some;
- variables: every ``LLM_MONITOR_*`` name must be in ``config.VARIABLES`` and every ``OTEL_*`` name in
  :data:`OTEL_VARIABLES` (lines that show the misspelt-variable warning, "did you mean", are skipped);
- links: relative Markdown links resolve to a file of the repository, and their ``#anchor`` (or a
  same-page ``#anchor``) to a heading (GitHub's slugs) or an explicit ``id``/``name`` anchor.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llm_monitor_sdk.cli import build_parser
from llm_monitor_sdk.config import BOOTSTRAP_VARIABLES, VARIABLES

ROOT = Path(__file__).resolve().parents[2]

#: The OpenTelemetry variables the docs may name: the ones the SDK reads (service name, resource) and
#: the standard OTLP exporter / metric reader ones the ``otlp`` exporter honours.
OTEL_VARIABLES = frozenset(
    {
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SDK_DISABLED",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_INSECURE",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_SEMCONV_STABILITY_OPT_IN",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    }
)

_PROSE_DIRS = ("src", "docs", "benchmarks", "examples", "scripts", "changes", ".ci")
_FENCE_DIRS = ("src/llm_monitor_sdk", "benchmarks", "examples", "scripts", ".ci", "docs")
_TOP_LEVEL = ("README.md", "CHANGELOG.md", "CONTRACT.md", "CONTRIBUTING.md", "SECURITY.md", "LICENSE")
_TOP_LEVEL_FILE = re.compile(
    r"^(?:README|CHANGELOG|CONTRACT|CONTRIBUTING|SECURITY|DESIGN)\.md$|^pyproject\.toml$"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE_OR_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\".*\")?\s*$")
_LLM_VARIABLE = re.compile(r"\bLLM_MONITOR_[A-Za-z0-9_]*[A-Za-z0-9]\b")
_OTEL_VARIABLE = re.compile(r"\bOTEL_[A-Z0-9_]*[A-Z0-9]\b")
_PROSE_EXTRA = re.compile(r"`([A-Za-z0-9][A-Za-z0-9_.-]*)` extras?\b")
_COMMAND = re.compile(r"(?<![\w/.-])llm-monitor(?![\w/.-])((?:\s+[^\s|;&<>]+)*)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:[^>]*\s)?(?:id|name)\s*=\s*["']([^"']+)["']""")


@dataclass
class Doc:
    """One Markdown file split into prose lines and fenced code lines."""

    path: Path
    prose: list[tuple[int, str]]
    code: list[tuple[int, str]]


def split(path: Path, text: str) -> Doc:
    """Lines inside fenced code blocks go to ``code``, the others to ``prose``."""
    prose: list[tuple[int, str]] = []
    code: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if match:
            if fence is None:
                fence = match.group(1)
                continue
            if match.group(1) == fence:
                fence = None
                continue
        (code if fence is not None else prose).append((number, line))
    return Doc(path, prose, code)


def _strip_token(token: str) -> str:
    token = token.strip().strip("'\"")
    while token and token[-1] in ".,:;)!?":
        token = token[:-1]
    return token.split("#", 1)[0]


def _path_exists(relative: str) -> bool:
    if any(ch in relative for ch in "*?["):
        return any(ROOT.glob(relative))
    return (ROOT / relative).exists()


def _repo_path(token: str, in_fence: bool) -> str | None:
    """The repository-relative path a token names, or None when it is not one of ours."""
    token = _strip_token(token)
    if token.startswith("./"):
        token = token[2:]
    if not token or "://" in token or token.startswith(("/", "~", "$")):
        return None
    if in_fence:
        if token.startswith(tuple(f"{d}/" for d in _FENCE_DIRS)):
            return token
        return None
    if _TOP_LEVEL_FILE.match(token) or token in _TOP_LEVEL:
        return token
    if token.startswith("llm_monitor_sdk/"):
        return f"src/{token}"
    if token.startswith(tuple(f"{d}/" for d in _PROSE_DIRS)):
        return token
    if token.startswith("tests/") and token.count("/") >= 2:
        return token
    return None


def _code_spans(line: str) -> Iterator[str]:
    for match in _INLINE_CODE.finditer(line):
        yield match.group(2).strip()


def _without_code_spans(line: str) -> str:
    return _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _check_command(words: list[str], where: str, problems: list[str]) -> None:
    commands = _subcommands(build_parser())
    if not words or words[0].startswith(("-", "[", "<", "{")) or not re.match(r"^[a-z][a-z0-9-]*$", words[0]):
        return
    sub = commands.get(words[0])
    if sub is None:
        problems.append(f"{where}: `llm-monitor {words[0]}` is not a command (have: {', '.join(commands)})")
        return
    nested = _subcommands(sub)
    if nested and len(words) > 1 and re.match(r"^[a-z][a-z0-9-]*$", words[1]) and words[1] not in nested:
        problems.append(
            f"{where}: `llm-monitor {words[0]} {words[1]}` is not a command (have: {', '.join(nested)})"
        )


def _command_words(text: str) -> list[str] | None:
    """The words after ``llm-monitor`` when ``text`` (a code span or a shell line) runs the command."""
    text = text.strip()
    for prompt in ("$ ", "> ", "% "):
        if text.startswith(prompt):
            text = text[len(prompt) :].strip()
    for piece in re.split(r"&&|\|\||[|;]|\$\(", text):
        piece = piece.strip()
        match = _COMMAND.match(piece)
        if match and piece.startswith("llm-monitor"):
            return match.group(1).split()
    return None


def github_anchors(text: str) -> set[str]:
    """Anchors GitHub gives this Markdown's headings (lower case, punctuation dropped, spaces to '-',
    repeats numbered), plus explicit ``<a id=...>``/``name=`` anchors."""
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    doc = split(Path("x"), text)
    for _, line in doc.prose:
        anchors.update(_EXPLICIT_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        title = match.group(2)
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # links keep their text
        title = re.sub(r"<[^>]+>", "", title)  # inline HTML
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def check(path: Path, text: str) -> list[str]:
    """Every problem in one document, as ``file:line: what`` strings."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    distribution = pyproject["project"]["name"]
    extras = set(pyproject["project"].get("optional-dependencies", {}))
    variables = {variable.name for variable in (*VARIABLES, *BOOTSTRAP_VARIABLES)}
    # ``NAME[extras]`` and a checkout's ``.[extras]`` (``pip install -e ".[otel]"``).
    extra_use = re.compile(
        r"(?:" + re.escape(distribution) + r"|(?<![\w)\]])\.)\[([A-Za-z0-9_-]+(?:, ?[A-Za-z0-9_-]+)*)\]"
    )
    doc = split(path, text)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    problems: list[str] = []
    lines = sorted([(n, line, False) for n, line in doc.prose] + [(n, line, True) for n, line in doc.code])
    for number, line, in_fence in lines:
        where = f"{name}:{number}"
        # Extras, anywhere.
        for match in extra_use.finditer(line):
            for extra in (part.strip() for part in match.group(1).split(",")):
                if extra and extra not in extras:
                    problems.append(
                        f"{where}: extra [{extra}] is not in pyproject.toml ({', '.join(sorted(extras))})"
                    )
        if not in_fence:
            for extra in _PROSE_EXTRA.findall(line):
                if extra not in extras:
                    problems.append(f"{where}: the `{extra}` extra is not in pyproject.toml")
        # Variables, anywhere except where a misspelling is the point.
        if "did you mean" not in line.lower():
            for variable in _LLM_VARIABLE.findall(line):
                if variable not in variables:
                    problems.append(f"{where}: {variable} is not in config.VARIABLES")
            for variable in _OTEL_VARIABLE.findall(line):
                if variable not in OTEL_VARIABLES:
                    problems.append(f"{where}: {variable} is not a known OTEL_* variable (OTEL_VARIABLES)")
        # Commands and files.
        if in_fence:
            words = _command_words(line)
            if words is not None:
                _check_command(words, where, problems)
            for token in re.split(r"[\s\"'`=(),]+", line):
                relative = _repo_path(token, in_fence=True)
                if relative is not None and not _path_exists(relative):
                    problems.append(f"{where}: file {relative} does not exist")
            continue
        for span in _code_spans(line):
            words = _command_words(span)
            if words is not None:
                _check_command(words, where, problems)
            for token in span.split():
                relative = _repo_path(token, in_fence=False)
                if relative is not None and not _path_exists(relative):
                    problems.append(f"{where}: file {relative} does not exist")
        # Links (not inside code spans).
        targets = [m.group(1) for m in _IMAGE_OR_LINK.finditer(_without_code_spans(line))]
        reference = _REFERENCE_LINK.match(line)
        if reference:
            targets.append(reference.group(1))
        for target in targets:
            problems.extend(_check_link(path, target, text, where))
    return problems


def _check_link(path: Path, target: str, text: str, where: str) -> list[str]:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:, ...
        return []
    file_part, _, anchor = target.partition("#")
    file_part = file_part.split("?", 1)[0]
    if file_part:
        resolved = (path.parent / file_part).resolve()
        if not resolved.exists():
            return [f"{where}: link target {target} does not exist"]
        if not resolved.is_relative_to(ROOT):
            return [f"{where}: link target {target} is outside the repository"]
        if not anchor or resolved.suffix != ".md":
            return []
        anchors = github_anchors(resolved.read_text(encoding="utf-8"))
    else:
        if not anchor:
            return []
        anchors = github_anchors(text)
    if anchor.lower() not in anchors:
        return [f"{where}: link {target}: no heading or anchor #{anchor}"]
    return []


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_in_the_docs_exists(path: Path) -> None:
    problems = check(path, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


# --- the checker itself: it finds what it must, and stays quiet on user code ---------------------------


def _problems(text: str) -> list[str]:
    return check(ROOT / "docs" / "example.md", text)


def test_checker_finds_the_two_known_bad_references() -> None:
    assert _problems("Each record is a JSONL line (the fields in `CONTRACT.md`).\n") == [
        "docs/example.md:1: file CONTRACT.md does not exist"
    ]
    (problem,) = _problems("The SDK has no phone dependency. The `phone` extra is not required.\n")
    assert "`phone` extra" in problem


def test_checker_finds_missing_extras_files_commands_variables_and_links() -> None:
    text = "\n".join(
        [
            "```bash",
            "pip install -e '.[redis,kafka]'",
            "$ llm-monitor frobnicate --fast",
            "llm-monitor budget explode",
            "python benchmarks/nope.py --quick",
            "export LLM_MONITOR_BUDGET_STORAGE=memory OTEL_FAKE_THING=1",
            "```",
            "See `src/llm_monitor_sdk/missing.py`, `llm-monitor report` and [the guide](nope.md).",
            "Jump to [a section](budgets.md#no-such-heading) or [here](#nowhere).",
        ]
    )
    problems = "\n".join(_problems(text))
    for expected in (
        ":2: extra [kafka]",
        ":3: `llm-monitor frobnicate` is not a command",
        ":4: `llm-monitor budget explode` is not a command",
        ":5: file benchmarks/nope.py does not exist",
        ":6: LLM_MONITOR_BUDGET_STORAGE is not in config.VARIABLES",
        ":6: OTEL_FAKE_THING is not a known OTEL_* variable",
        ":8: file src/llm_monitor_sdk/missing.py does not exist",
        ":8: link target nope.md does not exist",
        ":9: link budgets.md#no-such-heading: no heading or anchor #no-such-heading",
        ":9: link #nowhere: no heading or anchor #nowhere",
    ):
        assert expected in problems, (expected, problems)
    assert problems.count("\n") == 9  # nothing else: `llm-monitor report` exists


def test_checker_stays_quiet_on_user_code_and_prose() -> None:
    text = "\n".join(
        [
            "# Title with `code` and punctuation!",
            "```python",
            'open("tests/test_app.py")  # a user file',
            "# llm-monitor writes one line per call",
            'data = load("src/app/settings.json")',
            "```",
            "```console",
            "$ llm-monitor budget status",
            "llm-monitor demo: calling every installed provider client",
            "$ pip install llm-monitor-sdk && llm-monitor config --reference",
            "```",
            "The llm-monitor command reads `./llm-monitor/records.jsonl`; set `LLM_MONITOR_*` variables.",
            "A misspelt name warns: `LLM_MONITOR_BUDGET` ... did you mean LLM_MONITOR_BUDGETS?",
            "Put it in your `tests/conftest.py` or `app.py`; see [the title](#title-with-code-and-punctuation).",
            "[external](https://example.com/x.md) and [mail](mailto:a@b.example) are not checked.",
        ]
    )
    assert _problems(text) == []


def test_github_anchors() -> None:
    anchors = github_anchors("# When the store is unreachable\n## `llm-monitor config`\n## Twice\n## Twice\n")
    assert anchors == {"when-the-store-is-unreachable", "llm-monitor-config", "twice", "twice-1"}
