"""The Saved Objects importer against a real HTTP server on loopback that plays Kibana: no Kibana can
run here, so the server is a mock of Kibana's import and status endpoints (the HTTP, TLS, multipart
and auth on the wire are real)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_kibana import FakeKibana, file_part, serve_fake_kibana

from kibana import importer, objects
from kibana.exceptions import KibanaConfigError, KibanaImportError
from kibana.settings import kibana_settings

NDJSON = objects.to_ndjson(objects.saved_objects()).encode("utf-8")


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    yield from serve_fake_kibana()


def test_import_request_carries_file_xsrf_auth_and_overwrite(kibana: FakeKibana) -> None:
    """The import is a POST to /api/saved_objects/_import?overwrite=true with kbn-xsrf, the API key
    header and a multipart body whose `file` part is exactly the NDJSON."""
    settings = importer.KibanaSettings(url=kibana.url, api_key="aWQ6c2VjcmV0")
    result = importer.import_ndjson(settings, NDJSON)
    (request,) = kibana.requests
    assert (request.method, request.path) == ("POST", "/api/saved_objects/_import")
    assert request.query == {"overwrite": ["true"]}
    assert request.headers["kbn-xsrf"] == "true"
    assert request.headers["authorization"] == "ApiKey aWQ6c2VjcmV0"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    name, filename, content = file_part(request)
    assert (name, filename) == ("file", "logloop.ndjson")
    assert content == NDJSON
    assert result == importer.ImportResult(success_count=11, errors=())


def test_basic_auth_and_space_are_sent(kibana: FakeKibana) -> None:
    """User and password travel as HTTP basic auth, and a space puts the import under /s/<space>."""
    settings = importer.KibanaSettings(
        url=kibana.url + "/", username="elastic", password="p@ss:word", space="ops"
    )
    importer.import_ndjson(settings, NDJSON)
    (request,) = kibana.requests
    assert request.path == "/s/ops/api/saved_objects/_import"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"elastic:p@ss:word").decode()


def test_per_object_errors_are_reported_by_object(kibana: FakeKibana) -> None:
    """Objects Kibana refuses come back one by one with their title and a readable reason, and
    raise_for_errors turns them into one line naming each."""
    kibana.answers.append(
        (
            200,
            {
                "success": False,
                "successCount": 9,
                "errors": [
                    {
                        "id": "abc",
                        "type": "lens",
                        "meta": {"title": "logloop: top error groups"},
                        "error": {
                            "type": "missing_references",
                            "references": [{"type": "index-pattern", "id": "dv1"}],
                        },
                    },
                    {
                        "id": "def",
                        "type": "dashboard",
                        "title": "Service manager health",
                        "error": {
                            "type": "unknown",
                            "message": "Document migration failed",
                            "statusCode": 400,
                        },
                    },
                ],
            },
        )
    )
    result = importer.import_ndjson(importer.KibanaSettings(url=kibana.url), NDJSON)
    assert result.success_count == 9
    assert [str(error) for error in result.errors] == [
        "lens 'logloop: top error groups' (abc): missing references: index-pattern/dv1",
        "dashboard 'Service manager health' (def): unknown: Document migration failed (HTTP 400)",
    ]
    with pytest.raises(
        KibanaImportError, match=r"2 saved object\(s\) failed to import \(9 imported\)"
    ) as info:
        importer.raise_for_errors(result)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(401, "rejected the credentials", id="unauthorized"),
        pytest.param(403, "saved objects management privilege", id="forbidden"),
        pytest.param(413, "maxImportPayloadBytes", id="too-large"),
        pytest.param(500, "HTTP 500", id="server-error"),
    ],
)
def test_http_errors_become_one_line_kibana_errors(kibana: FakeKibana, status: int, expected: str) -> None:
    """An HTTP error status becomes a KibanaImportError whose one line says what to fix, with Kibana's
    own message appended."""
    kibana.answers.append((status, {"statusCode": status, "message": "from kibana"}))
    with pytest.raises(KibanaImportError, match=expected) as info:
        importer.import_ndjson(importer.KibanaSettings(url=kibana.url, api_key="k"), NDJSON)
    assert "from kibana" in str(info.value)
    assert "\n" not in str(info.value)


def test_unreachable_kibana_is_one_clear_error() -> None:
    """A port nobody listens on gives 'cannot reach Kibana ... is it running?'."""
    with pytest.raises(
        KibanaImportError, match=r"cannot reach Kibana at http://127\.0\.0\.1:9 .*is it running"
    ):
        importer.import_ndjson(importer.KibanaSettings(url="http://127.0.0.1:9", timeout=5), NDJSON)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(
            importer.KibanaSettings(url="http://kibana.example:5601"), "plain http", id="plain-http"
        ),
        pytest.param(importer.KibanaSettings(url="ftp://x"), "must look like", id="bad-scheme"),
        pytest.param(importer.KibanaSettings(url="https://u:p@k:5601"), "not in the URL", id="creds-in-url"),
        pytest.param(
            importer.KibanaSettings(url="https://k:5601", api_key="a", username="u"),
            "not both",
            id="both-auth",
        ),
        pytest.param(
            importer.KibanaSettings(url="https://k:5601", password="p"), "needs a --user", id="no-user"
        ),
    ],
)
def test_unsafe_or_broken_settings_are_refused(settings: importer.KibanaSettings, expected: str) -> None:
    """Settings that would leak credentials or cannot work are refused before any request."""
    with pytest.raises(KibanaConfigError, match=expected):
        importer.import_ndjson(settings, NDJSON)


def test_settings_layering_file_then_environment_then_flags() -> None:
    """[kibana] is overridden by LOGLOOP_KIBANA_*, which flags override; an explicit --api-key replaces a
    configured user, no URL anywhere means no Kibana, and unknown keys are refused."""
    section = {"url": "https://file:5601", "username": "file-user", "password": "pw", "space": "a"}
    environ = {"LOGLOOP_KIBANA_URL": "https://env:5601", "LOGLOOP_KIBANA_SPACE": "b"}
    settings = kibana_settings(section, environ, {"api_key": "flag-key", "space": None})
    assert settings == importer.KibanaSettings(url="https://env:5601", api_key="flag-key", space="b")
    assert kibana_settings({}, {}, {"url": None}) is None
    assert "pw" not in repr(kibana_settings(section, {}, {}))
    with pytest.raises(KibanaConfigError, match="unknown key"):
        kibana_settings({"urll": "x"}, {}, {})


def test_wait_until_available_polls_until_kibana_is_ready(kibana: FakeKibana) -> None:
    """wait_until_available retries through 'not ready' answers and returns once Kibana, or at least its
    saved objects service, says available; the clock is injected, so nothing sleeps."""
    kibana.answers += [
        (503, {"message": "Kibana server is not ready yet"}),
        (200, {"status": {"overall": {"level": "degraded"}}}),
        (200, {"status": {"overall": {"level": "available"}}}),
        (
            200,
            {"status": {"overall": {"level": "degraded"}, "core": {"savedObjects": {"level": "available"}}}},
        ),
    ]
    sleeps: list[float] = []
    importer.wait_until_available(
        importer.KibanaSettings(url=kibana.url), 60, sleep=sleeps.append, clock=lambda: 0.0
    )
    assert [r.path for r in kibana.requests] == ["/api/status"] * 3
    assert sleeps == [5.0, 5.0]
    importer.wait_until_available(importer.KibanaSettings(url=kibana.url), 60, sleep=sleeps.append)
    assert len(kibana.requests) == 4 and len(sleeps) == 2


def test_wait_until_available_gives_up_with_the_last_reason(kibana: FakeKibana) -> None:
    """When the deadline passes, the error says how long it waited and what Kibana last said."""
    kibana.answers += [(503, {"message": "Kibana server is not ready yet"})] * 2
    ticks = iter([0.0, 10.0, 61.0])
    with pytest.raises(KibanaImportError, match=r"not available within 60s: .*not ready yet"):
        importer.wait_until_available(
            importer.KibanaSettings(url=kibana.url), 60, sleep=lambda _: None, clock=lambda: next(ticks)
        )


def test_tls_is_verified_by_default_and_a_ca_file_makes_it_pass(
    tls_server: FakeKibana, certificate: tuple[Path, Path]
) -> None:
    """An untrusted certificate is refused with a hint to pass --ca-certs; with the CA file (or with
    verification explicitly off, --insecure) the import goes through."""
    with pytest.raises(KibanaImportError, match=r"TLS verification .* failed .*--ca-certs"):
        importer.import_ndjson(importer.KibanaSettings(url=tls_server.url), NDJSON)
    result = importer.import_ndjson(
        importer.KibanaSettings(url=tls_server.url, ca_certs=str(certificate[0])), NDJSON
    )
    assert result.success_count == 11
    assert file_part(tls_server.requests[-1])[2] == NDJSON
    unverified = importer.KibanaSettings(url=tls_server.url, verify_certs=False)
    assert importer.import_ndjson(unverified, NDJSON).success_count == 11


def test_cli_import_prints_each_refused_object_and_fails(
    kibana: FakeKibana, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`logloop kibana import --file` sends that file, prints each refused object on stderr and exits 1
    with one summary line."""
    from logloop.cli import main

    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    exported = tmp_path / "objects.ndjson"
    assert main(["kibana", "export", "--output", str(exported)]) == 0
    kibana.answers.append(
        (
            200,
            {
                "successCount": 10,
                "errors": [{"id": "x", "type": "lens", "title": "T", "error": {"type": "conflict"}}],
            },
        )
    )
    assert main(["kibana", "import", "--url", kibana.url, "--user", "elastic", "--file", str(exported)]) == 1
    assert file_part(kibana.requests[0])[1:] == ("objects.ndjson", exported.read_bytes())
    err = capsys.readouterr().err
    assert "  failed: lens 'T' (x): conflict" in err
    assert (
        err.strip().splitlines()[-1].startswith("logloop kibana: error: 1 saved object(s) failed to import")
    )
