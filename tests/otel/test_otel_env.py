"""``OTEL_*`` variables read as the OpenTelemetry specification (and the Python SDK's own tests) check them."""

from __future__ import annotations

import logging

import pytest

from llm_monitor_sdk import _otel_env as oe


@pytest.fixture(autouse=True)
def _fresh_warnings():
    oe._warned.clear()
    yield
    oe._warned.clear()


# ----------------------------------------------------------------------------- endpoints (OTLP/HTTP)


def test_default_http_endpoints():
    assert oe.http_endpoint({}, "traces") == "http://localhost:4318/v1/traces"
    assert oe.http_endpoint({}, "metrics") == "http://localhost:4318/v1/metrics"


@pytest.mark.parametrize(
    ("base", "traces", "metrics"),
    [
        # Specification, example 1: one collector for every signal.
        ("http://collector:4318", "http://collector:4318/v1/traces", "http://collector:4318/v1/metrics"),
        # A base with and without a trailing slash joins with exactly one "/".
        ("http://collector:4318/", "http://collector:4318/v1/traces", "http://collector:4318/v1/metrics"),
        # Specification, example 3: a base path is kept and the signal path is relative to it.
        (
            "http://collector:4318/mycollector/",
            "http://collector:4318/mycollector/v1/traces",
            "http://collector:4318/mycollector/v1/metrics",
        ),
        ("https://otel.example.com/otlp", "https://otel.example.com/otlp/v1/traces", None),
        # A query string stays a query string after the path.
        ("http://c:4318/p?tenant=7", "http://c:4318/p/v1/traces?tenant=7", None),
    ],
)
def test_the_generic_endpoint_is_a_base_url(base, traces, metrics):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": base}
    assert oe.http_endpoint(env, "traces") == traces
    if metrics is not None:
        assert oe.http_endpoint(env, "metrics") == metrics


def test_per_signal_endpoints_are_used_as_they_are():
    # Specification, example 2: no signal path is added to a per-signal URL; an empty path becomes "/".
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://collector.example.com/v1/metrics",
    }
    assert oe.http_endpoint(env, "traces") == "http://collector:4318/"
    assert oe.http_endpoint(env, "metrics") == "https://collector.example.com/v1/metrics"
    # ...and a trailing slash is kept as written.
    env = {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://collector.example.com/v1/metrics/"}
    assert oe.http_endpoint(env, "metrics") == "https://collector.example.com/v1/metrics/"


def test_a_per_signal_endpoint_wins_over_the_generic_one_for_that_signal_only():
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/mycollector/",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example.com/custom",
    }
    assert oe.http_endpoint(env, "traces") == "http://collector:4318/mycollector/v1/traces"
    assert oe.http_endpoint(env, "metrics") == "https://metrics.example.com/custom"


def test_empty_variables_count_as_unset():
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"}
    assert oe.http_endpoint(env, "traces") == "http://c:1/v1/traces"
    assert oe.otlp_config({"OTEL_EXPORTER_OTLP_PROTOCOL": ""}, "traces").protocol == "http/protobuf"


# ----------------------------------------------------------------------------- endpoints (gRPC)


def test_grpc_endpoints_are_targets_used_as_they_are():
    assert (
        oe.otlp_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "traces").endpoint == "http://localhost:4317"
    )
    env = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://my-api-endpoint:443",
    }
    assert oe.otlp_config(env, "traces").endpoint == "https://my-api-endpoint:443"  # no /v1/traces for gRPC
    env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "http://metrics:4317"
    assert oe.otlp_config(env, "metrics").endpoint == "http://metrics:4317"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, True),  # the scheme decides...
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317"}, False),  # ...without one, INSECURE does (default false)
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317", "OTEL_EXPORTER_OTLP_INSECURE": "TRUE"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true"}, True),
        # The obsolete per-signal spelling is still read, and the per-signal value wins.
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317", "OTEL_EXPORTER_OTLP_SPAN_INSECURE": "true"}, True),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "c:4317",
                "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false",
                "OTEL_EXPORTER_OTLP_INSECURE": "true",
            },
            False,
        ),
    ],
)
def test_grpc_insecure(env, expected):
    assert oe.otlp_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", **env}, "traces").insecure is expected


# ----------------------------------------------------------------------------- protocol


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, "http/protobuf", "http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc", "grpc"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC"}, "grpc", "grpc"),  # enums are case-insensitive
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
            "grpc",
            "http/protobuf",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "http/json", "http/protobuf"),
    ],
)
def test_protocol_per_signal_over_generic(env, traces, metrics):
    assert oe.protocol(env, "traces") == traces
    assert oe.protocol(env, "metrics") == metrics


def test_an_unknown_protocol_is_ignored_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, "llm_monitor_sdk.otel_env")
    env = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "carrier-pigeon", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert oe.protocol(env, "traces") == "grpc"  # the bad per-signal value falls through to the generic
    assert oe.protocol(env, "traces") == "grpc"
    warnings = [r for r in caplog.records if "carrier-pigeon" in r.getMessage()]
    assert len(warnings) == 1 and "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" in warnings[0].getMessage()


# ----------------------------------------------------------------------------- headers


def test_headers_parse_as_the_python_sdk_does():
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "envHeader1=val1,envHeader2=val2,User-agent=Overridden"}
    assert oe.otlp_config(env, "traces").headers == {
        "envheader1": "val1",
        "envheader2": "val2",
        "user-agent": "Overridden",
    }


def test_per_signal_headers_replace_the_generic_ones():
    env = {
        "OTEL_EXPORTER_OTLP_HEADERS": "envHeader1=val1",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "tracesEnv1=val1,traceEnv3===val3==,User-agent=TraceUserAgent",
    }
    assert oe.otlp_config(env, "traces").headers == {
        "tracesenv1": "val1",
        "traceenv3": "==val3==",  # values may contain "="
        "user-agent": "TraceUserAgent",
    }
    assert oe.otlp_config(env, "metrics").headers == {"envheader1": "val1"}


def test_header_values_are_percent_decoded_and_stripped():
    env = {"OTEL_EXPORTER_OTLP_HEADERS": " Authorization = Basic%20dXNlcjpwYXNz , x-api-key=a%2Cb%3Dc "}
    assert oe.otlp_config(env, "traces").headers == {
        "authorization": "Basic dXNlcjpwYXNz",
        "x-api-key": "a,b=c",
    }


def test_a_malformed_header_item_is_skipped_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, "llm_monitor_sdk.otel_env")
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "envHeader1=val1,envHeader2=val2,missingValue,=novalue"}
    assert oe.otlp_config(env, "traces").headers == {"envheader1": "val1", "envheader2": "val2"}
    assert any("missingValue" in r.getMessage() for r in caplog.records)


def test_an_unencoded_percent_is_taken_literally():
    # The Python SDK is liberal here (other SDKs accept unencoded values); so are we.
    assert oe.parse_headers("x-quota=50%", "V") == {"x-quota": "50%"}


# ----------------------------------------------------------------------------- timeout, compression, TLS


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, 10.0, 10.0),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "30"}, 30.0, 30.0),  # seconds, as the Python SDK documents
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "30", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "40"}, 40.0, 30.0),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "2.5"}, 2.5, 2.5),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, 10.0, 10.0),  # not a number: warned, ignored
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"}, 10.0, 10.0),  # negative: warned, ignored
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "7", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "x"}, 7.0, 7.0),
    ],
)
def test_timeout(env, traces, metrics):
    assert oe.otlp_config(env, "traces").timeout == traces
    assert oe.otlp_config(env, "metrics").timeout == metrics


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, None, None),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, "gzip", "gzip"),
        (
            {"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "deflate"},
            "deflate",
            "gzip",
        ),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, "none", "none"),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, None, None),
    ],
)
def test_compression(env, traces, metrics):
    assert oe.otlp_config(env, "traces").compression == traces
    assert oe.otlp_config(env, "metrics").compression == metrics


def test_tls_files_per_signal_over_generic():
    env = {
        "OTEL_EXPORTER_OTLP_CERTIFICATE": "os/env/base.crt",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "os/env/client-cert.pem",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": "os/env/client-key.pem",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "traces/certificate.env",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": "traces/client-cert.pem",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": "traces/client-key.pem",
    }
    traces, metrics = oe.otlp_config(env, "traces"), oe.otlp_config(env, "metrics")
    assert (traces.certificate, traces.client_certificate, traces.client_key) == (
        "traces/certificate.env",
        "traces/client-cert.pem",
        "traces/client-key.pem",
    )
    assert (metrics.certificate, metrics.client_certificate, metrics.client_key) == (
        "os/env/base.crt",
        "os/env/client-cert.pem",
        "os/env/client-key.pem",
    )


def test_an_unknown_signal_is_a_value_error():
    with pytest.raises(ValueError, match="logs"):
        oe.otlp_config({}, "logs")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- booleans, SDK switch


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        (" true ", True),
        ("false", False),
        ("", False),
        ("1", False),
        ("yes", False),
        ("on", False),
    ],
)
def test_sdk_disabled_is_true_only_for_true(value, expected):
    assert oe.sdk_disabled({"OTEL_SDK_DISABLED": value}) is expected
    assert oe.sdk_disabled({}) is False


def test_a_boolean_that_is_neither_true_nor_false_warns(caplog):
    caplog.set_level(logging.WARNING, "llm_monitor_sdk.otel_env")
    assert oe.sdk_disabled({"OTEL_SDK_DISABLED": "1"}) is False
    assert any("OTEL_SDK_DISABLED" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------- resource


def test_resource_attributes_are_decoded_and_stripped():
    env = {"OTEL_RESOURCE_ATTRIBUTES": " deployment.environment = prod ,team=search%2Cranking,note=a%3Db "}
    assert oe.resource_attributes(env) == {
        "deployment.environment": "prod",
        "team": "search,ranking",
        "note": "a=b",
    }


def test_resource_values_may_contain_equals_and_be_empty():
    assert oe.resource_attributes({"OTEL_RESOURCE_ATTRIBUTES": "k=a=b,e=,"}) == {"k": "a=b", "e": ""}


@pytest.mark.parametrize("raw", ["a=1,broken", "a=1,=2", "a=1,b=%zz", "a=1,b=%E2%28"])
def test_a_malformed_resource_variable_is_discarded_whole(raw, caplog):
    caplog.set_level(logging.WARNING, "llm_monitor_sdk.otel_env")
    assert oe.resource_attributes({"OTEL_RESOURCE_ATTRIBUTES": raw}) == {}
    assert any("OTEL_RESOURCE_ATTRIBUTES" in r.getMessage() for r in caplog.records)


def test_service_name_precedence():
    attrs = "service.name=from-attrs,deployment.environment=prod"
    assert oe.service_name({}) is None
    assert oe.service_name({"OTEL_RESOURCE_ATTRIBUTES": attrs}) == "from-attrs"
    assert oe.service_name({"OTEL_RESOURCE_ATTRIBUTES": attrs, "OTEL_SERVICE_NAME": "svc"}) == "svc"
    env = {"OTEL_RESOURCE_ATTRIBUTES": attrs, "OTEL_SERVICE_NAME": "svc"}
    assert oe.resource(env) == {"service.name": "svc", "deployment.environment": "prod"}
    assert oe.resource(env, "explicit")["service.name"] == "explicit"
    assert oe.resource({}) == {}
