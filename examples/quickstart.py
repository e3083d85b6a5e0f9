"""Quickstart: monitor an OpenAI app, offline (the bundled fake provider stands in for the API).

    python examples/quickstart.py

Prints the records the calls produced and the aggregates from ``lm.stats()``.
"""

from __future__ import annotations

import json

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


def main() -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter, "console"])
    with FakeProvider(text="Your order ships tomorrow.") as fake:
        client = fake.openai_client()  # an ordinary openai.OpenAI pointed at the fake

        @lm.observe(feature="order-status")
        def answer(question: str, user: str) -> str:
            with lm.context(user_id=user, tenant_id="acme", metadata={"channel": "chat"}):
                reply = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
                )
            return reply.choices[0].message.content or ""

        print(answer("Where is order 1234? Write to me at jane.doe@example.com", user="u-42"))
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}], stream=True
        )
        print("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))
        lm.flush()
    for record in exporter.records:
        print(
            json.dumps(
                {
                    k: record.get(k)
                    for k in (
                        "kind",
                        "name",
                        "api",
                        "status",
                        "latency_ms",
                        "ttft_ms",
                        "usage",
                        "cost_usd",
                        "user_id",
                        "redactions",
                    )
                }
            )
        )
    stats = lm.stats()
    print(
        "p50/p99 latency ms:",
        stats["latency_ms"]["p50"],
        stats["latency_ms"]["p99"],
        "cost USD:",
        stats["cost_usd"],
    )
    lm.uninstrument()


if __name__ == "__main__":
    main()
