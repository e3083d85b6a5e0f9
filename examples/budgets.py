"""Budget guards: a user over their daily limit is stopped before the request is sent.

python examples/budgets.py
"""

from __future__ import annotations

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


def main() -> None:
    lm.instrument(
        exporters=["console"],
        budgets="user:daily=0.01:soft=0.5",
        on_budget_alert=lambda alert: print("ALERT:", alert),
    )
    with FakeProvider(output_tokens=2000) as fake:
        client = fake.openai_client()
        with lm.context(user_id="alice"):
            for n in range(1, 20):
                try:
                    client.chat.completions.create(
                        model="gpt-4o-mini",
                        max_tokens=2000,
                        messages=[{"role": "user", "content": "Tell me a story"}],
                    )
                except lm.BudgetExceededError as exc:
                    print(
                        f"call {n} blocked: {exc.scope}={exc.key} {exc.window} limit ${exc.limit_usd} "
                        f"spent ${exc.spent_usd:.4f}; requests that reached the provider: {fake.request_count}"
                    )
                    break
        lm.flush()
    print("blocked calls:", lm.stats()["budget"]["blocked"])
    lm.uninstrument()


if __name__ == "__main__":
    main()
