#!/usr/bin/env bash
# Installs everything into local virtual environments and runs the whole test suite:
#   1. .venv      : the package with the [dev] extra (newest provider SDKs: openai 3.x, anthropic 2.x,
#                   google-genai 3.x, on httpx2) -> every test.
#   2. .venv-old  : the previous provider majors (openai 2.x, anthropic 0.x, google-genai 2.x, on httpx)
#                   -> the provider, lifecycle and fake-provider tests again.
#   3. .venv-frameworks : LangChain, LlamaIndex, instructor, pydantic-ai, LiteLLM, the OpenAI Agents SDK
#                   (versions pinned in tests/frameworks/constraints.txt) -> tests/frameworks.
# Set LLM_MONITOR_SKIP_OLD_MAJORS=1 / LLM_MONITOR_SKIP_FRAMEWORKS=1 to leave out 2 / 3. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"

if [ "${LLM_MONITOR_SKIP_OLD_MAJORS:-0}" != "1" ]; then
  "$PYTHON" -m venv .venv-old
  .venv-old/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" \
    "openai>=2,<3" "anthropic<1" "google-genai>=2,<3"
  .venv-old/bin/python -m pip list 2>/dev/null | grep -iE '^(openai|anthropic|google-genai) '
  .venv-old/bin/python -m pytest -q -p no:cacheprovider tests/instrumentation tests/lifecycle tests/testing "$@"
fi

if [ "${LLM_MONITOR_SKIP_FRAMEWORKS:-0}" != "1" ]; then
  bash scripts/test-frameworks.sh "$@"
fi
