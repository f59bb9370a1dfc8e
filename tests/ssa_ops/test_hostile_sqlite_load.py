"""The embedded default (SQLite in a file) under concurrent writes: losers get 409, never 500.

Runs the real thing: gunicorn on a loopback port over a fresh SQLite file with the demo data,
whatever database the rest of the suite uses.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPROVERS = 20
READERS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base, method, path, *, token=None, body=None, timeout=60):
    """(status, parsed JSON or None) for one request to the server."""
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def guarded_call(*args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as error:  # reported in the assertion, not lost in a thread
        return repr(error), None


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """The embedded default (SQLite file, in-process tasks) served on a free loopback port."""
    var_dir = tmp_path_factory.mktemp("embedded")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "SSA_VAR_DIR": str(var_dir),
            "DEBUG": "1",
            "AXES_ENABLED": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "ERROR",
            "DEMO_BULK_RECORDS": "0",
        }
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run(
            manage + command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=180
        )
    port = free_port()
    log = (var_dir / "server.log").open("w")
    # As docker-compose serves it: gunicorn, here with two processes of many threads each, so
    # that writes meet both inside a process and across processes.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "ssa_ops.wsgi",
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
            "--threads=24",
            "--backlog=512",
            "--timeout=120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(base, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (var_dir / "server.log").read_text()
            assert time.monotonic() < deadline, "the dev server did not start"
            time.sleep(0.2)
        yield base, var_dir
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def token(base, username):
    status, body = call(
        base, "POST", "/api/v1/auth/token/", body={"username": username, "password": "demo"}
    )
    assert status == 200, body
    return body["token"]


def test_twenty_concurrent_approvals_one_wins_the_rest_are_409(embedded_server):
    base, var_dir = embedded_server
    # given a submitted change request, filed by a dealer
    dealer_token = token(base, "dealer")
    status, dealers = call(base, "GET", "/api/v1/dealers/", token=dealer_token)
    assert status == 200, dealers
    status, created = call(
        base,
        "POST",
        "/api/v1/dealers/change-requests/",
        token=dealer_token,
        body={
            "dealer": dealers["results"][0]["id"],
            "values": {"address": "并发测试路1号"},
            "submit": True,
        },
    )
    assert status == 201, created
    pk = created["id"]
    ops_tokens = [token(base, "ops"), token(base, "opslead")]
    # when twenty approvals and twenty reads of it arrive at the same moment
    barrier = threading.Barrier(APPROVERS + READERS)
    approvals, reads = [], []

    def approve(number):
        barrier.wait()
        approvals.append(
            guarded_call(
                base,
                "POST",
                f"/api/v1/dealers/change-requests/{pk}/approve/",
                token=ops_tokens[number % 2],
                body={"reason": f"ok {number}"},
            )
        )

    def read(number):
        barrier.wait()
        reads.append(
            guarded_call(
                base,
                "GET",
                f"/api/v1/dealers/change-requests/{pk}/",
                token=ops_tokens[number % 2],
            )
        )

    threads = [threading.Thread(target=approve, args=(n,)) for n in range(APPROVERS)]
    threads += [threading.Thread(target=read, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then exactly one approval won, every other one was told 409, and no request failed
    server_log = (var_dir / "server.log").read_text()
    statuses = sorted((status for status, _body in approvals), key=str)
    assert statuses == [200] + [409] * (APPROVERS - 1), server_log[-3000:]
    assert {body["code"] for status, body in approvals if status == 409} == {
        "transition_not_allowed"
    }
    assert [status for status, _body in reads] == [200] * READERS, server_log[-3000:]
    assert "database is locked" not in server_log
    # and the request was decided once
    status, detail = call(
        base, "GET", f"/api/v1/dealers/change-requests/{pk}/", token=ops_tokens[0]
    )
    assert status == 200
    assert detail["status"] in {"approved", "applied"}
    winner = next(body for status, body in approvals if status == 200)
    assert detail["decided_by"] == winner["decided_by"]
    assert detail["decision_reason"] == winner["decision_reason"]
