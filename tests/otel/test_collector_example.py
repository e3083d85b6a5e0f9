"""``examples/otel-collector.yaml``: a Collector that receives our OTLP and writes it to files.

No package on the registries this project uses ships a Collector build with the OTLP receiver and the
file exporter, so the Collector's part is played by the loopback OTLP receiver: it accepts the
requests on the example's OTLP/HTTP paths and appends each one to a file as OTLP/JSON, one object per
line, which is what the example's ``file`` exporters write. The test reads that file back as a user
would and finds the call.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "otel-collector.yaml"


def test_the_example_is_a_collector_config_with_otlp_in_and_files_out():
    config = yaml.safe_load(EXAMPLE.read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318") and protocols["grpc"]["endpoint"].endswith(":4317")
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] == ["otlp"]
        (exporter,) = pipeline["exporters"]
        assert exporter.split("/")[0] == "file" and config["exporters"][exporter]["path"].endswith(".jsonl")
        for processor in pipeline.get("processors", []):
            assert processor in config["processors"], name


def _write_like_the_file_exporter(received, path: Path, message_type) -> None:
    with path.open("a") as handle:
        for request in received:
            handle.write(json.dumps(MessageToDict(message_type.FromString(request.body))) + "\n")


def test_an_instrumented_app_ends_up_in_the_collectors_files(otel_env, http_receiver, tmp_path):
    config = yaml.safe_load(EXAMPLE.read_text())
    # The example's OTLP/HTTP receiver, on a free port instead of 4318.
    otel_env.setenv("LLM_MONITOR_EXPORTERS", "otlp")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    otel_env.setenv("OTEL_SERVICE_NAME", "support-bot")
    with FakeProvider(text="Reset it from the login page.") as fake:
        lm.instrument(["openai"], flush_interval=0.05)

        @lm.observe("answer_question", tenant_id="acme")
        def answer() -> str:
            reply = fake.openai_client().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "How do I reset my password?"}]
            )
            return reply.choices[0].message.content or ""

        assert answer() == "Reset it from the login page."
        lm.shutdown()

    traces_file = tmp_path / Path(config["exporters"]["file/traces"]["path"]).name
    metrics_file = tmp_path / Path(config["exporters"]["file/metrics"]["path"]).name
    _write_like_the_file_exporter(http_receiver.at("/v1/traces"), traces_file, ExportTraceServiceRequest)
    _write_like_the_file_exporter(http_receiver.at("/v1/metrics"), metrics_file, ExportMetricsServiceRequest)

    spans = []
    for line in traces_file.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
            for scope in resource_spans["scopeSpans"]:
                spans += [(resource, span) for span in scope["spans"]]
    by_name = {span["name"]: (resource, span) for resource, span in spans}
    resource, chat = by_name["chat gpt-4o-mini"]
    _, parent = by_name["answer_question"]
    assert resource["service.name"] == {"stringValue": "support-bot"}
    assert chat["parentSpanId"] == parent["spanId"] and chat["traceId"] == parent["traceId"]
    attributes = {a["key"]: a["value"] for a in chat["attributes"]}
    assert attributes["gen_ai.provider.name"] == {"stringValue": "openai"}
    assert attributes["llm_monitor.tenant_id"] == {"stringValue": "acme"}
    assert "gen_ai.usage.input_tokens" in attributes
    metric_names = {
        metric["name"]
        for line in metrics_file.read_text().splitlines()
        for rm in json.loads(line)["resourceMetrics"]
        for sm in rm["scopeMetrics"]
        for metric in sm["metrics"]
    }
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= metric_names
