"""Context follows the work: asyncio tasks automatically, thread pools with ContextThreadPoolExecutor.

python examples/threads_and_async.py
"""

from __future__ import annotations

import asyncio

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


def main() -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter])
    with FakeProvider() as fake:
        client = fake.openai_client()
        aclient = fake.openai_client(async_=True)

        def ask(question: str) -> str:
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content or ""

        @lm.observe("batch")
        def batch(questions: list[str]) -> list[str]:
            with lm.ContextThreadPoolExecutor(max_workers=4) as pool:  # workers see the span and the user
                return list(pool.map(ask, questions))

        async def per_user(user: str) -> None:
            with lm.context(user_id=user):  # each task keeps its own user
                await aclient.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )

        async def many_users() -> None:
            await asyncio.gather(*(per_user(f"user-{i}") for i in range(5)))

        with lm.context(user_id="batch-owner"):
            batch(["a?", "b?", "c?", "d?"])
        asyncio.run(many_users())
        lm.flush()
    span = exporter.spans[0]
    threaded = [r for r in exporter.calls if r["parent_span_id"] == span["span_id"]]
    print(
        f"{len(threaded)} thread-pool calls are children of span {span['name']!r}, user "
        f"{sorted({r['user_id'] for r in threaded})}"
    )
    print("async users:", sorted(r["user_id"] for r in exporter.calls if r["parent_span_id"] is None))
    lm.uninstrument()


if __name__ == "__main__":
    main()
