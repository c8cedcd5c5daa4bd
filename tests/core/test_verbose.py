"""`-v` logs every provider request (one line: method, URL, status, time) and every retry; `-vv` adds ftops's own
debug lines and nothing of httpx or httpcore; `--help` shows a repeatable flag. Real processes, real stderr."""

from __future__ import annotations

import re

import httpx

from ftops.providers.http import shown_url
from tests.reliability.support import EmulatorProcess, make_project, run_ftops

REQUEST_LINE = re.compile(r"INFO ftops\.http: (GET|POST|DELETE) http://127\.0\.0\.1:\d+/v1/\S+ -> (\d{3}) "
                          r"\(\d+\.\d\ds\)")


def test_v_logs_each_request_and_each_retry_as_one_line(tmp_path):
    with EmulatorProcess(tmp_path / "emu") as emu:
        root = make_project(tmp_path / "proj", emu.url)
        emu.admin("faults", {"rate": 0.5, "kinds": ["429"], "seed": 23})  # the first request is refused (429)
        result = run_ftops(root, "-v", "plan")
        served = emu.http.get(f"{emu.admin_url}/faults").json()["requests"]
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    requests = [line for line in lines if line.startswith("INFO ftops.http: ") and " -> " in line]
    assert requests and all(REQUEST_LINE.fullmatch(line) for line in requests), requests
    assert len(requests) == served  # one line per request the provider received, retries included
    refused = next(i for i, line in enumerate(lines) if line.endswith(")") and " -> 429 (" in line)
    assert lines[refused + 1].startswith("INFO ftops.http: retrying GET ")
    assert "?limit=...&" in result.stderr  # query parameters by name only
    assert not [line for line in lines if line.startswith("DEBUG") or "httpx" in line or "httpcore" in line]


def test_vv_adds_ftops_debug_lines_without_the_http_librarys_flood(tmp_path):
    with EmulatorProcess(tmp_path / "emu") as emu:
        root = make_project(tmp_path / "proj", emu.url)
        result = run_ftops(root, "-vv", "apply", "--auto-approve", "--target", "shared-b")
    assert result.returncode == 0, result.stderr
    assert "DEBUG ftops.lockstore: wrote ftops.lock" in result.stderr
    assert REQUEST_LINE.search(result.stderr)
    assert "httpcore" not in result.stderr and "httpx" not in result.stderr


def test_help_shows_verbose_as_a_repeatable_flag_and_it_goes_before_any_command(tmp_path):
    help_text = run_ftops(tmp_path, "--help").stdout
    verbose = next(line for line in help_text.splitlines() if "--verbose" in line)
    assert "-v" in verbose and "<int>" not in verbose and "INTEGER" not in verbose
    assert "repeatable" in help_text and "[default: 0]" not in help_text
    (tmp_path / "ftops.yaml").write_text("default_provider: local\n")
    for flags in (["-v"], ["-vv", "--verbose"]):
        assert run_ftops(tmp_path, *flags, "status").returncode == 0, flags
    assert "No such command '1'" in run_ftops(tmp_path, "-v", "1", "status").stderr  # a count, not a value


def test_logged_urls_show_query_parameters_by_name_only_and_no_user_info():
    url = httpx.URL("https://user:pw@storage.example:8443/b/o?X-Goog-Signature=abc123&X-Goog-Credential=k%2Fd&a=1&a=2")
    assert shown_url(url) == "https://storage.example:8443/b/o?X-Goog-Signature=...&X-Goog-Credential=...&a=..."
    assert shown_url(httpx.URL("http://127.0.0.1:8089/v1/models")) == "http://127.0.0.1:8089/v1/models"
