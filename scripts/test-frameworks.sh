#!/usr/bin/env bash
# The framework tests: a third virtual environment (.venv-frameworks) with LangChain, LlamaIndex,
# instructor, pydantic-ai, LiteLLM, the OpenAI Agents SDK, LangSmith, Logfire, gunicorn, uvicorn and
# celery at the versions pinned in tests/frameworks/constraints.txt, then tests/frameworks.
# Everything runs offline against the fake provider. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${LLM_MONITOR_FRAMEWORKS_VENV:-.venv-frameworks}

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  -c tests/frameworks/constraints.txt \
  -e ".[dev]" \
  langchain-openai langchain-anthropic llama-index-llms-openai instructor \
  "pydantic-ai-slim[openai,anthropic]" litellm openai-agents langsmith logfire \
  gunicorn uvicorn celery
"$VENV/bin/python" -m pip list 2>/dev/null \
  | grep -iE '^(openai|anthropic|langchain-openai|langchain-anthropic|llama-index-llms-openai|instructor|pydantic-ai-slim|litellm|openai-agents|langsmith|logfire|gunicorn|uvicorn|celery) '
# LLM_MONITOR_FRAMEWORKS=1: the folder is collected (elsewhere it is left out, never skipped).
LLM_MONITOR_FRAMEWORKS=1 LITELLM_LOCAL_MODEL_COST_MAP=True \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/frameworks "$@"
