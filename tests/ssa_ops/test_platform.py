import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from ssa_ops.audit import audit_record
from ssa_ops.models import AuditEvent
from tests.dealers.factories import DealerFactory

ROOT = Path(__file__).resolve().parents[2]


def run_django(args, **env):
    inherited_out = {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in inherited_out}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_without_secret_key_stops_with_a_clear_message():
    result = run_django(["check"], DEBUG="0", ALLOWED_HOSTS="ssa.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_off_without_allowed_hosts_stops_with_a_clear_message():
    result = run_django(["check"], DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY="k7#Qv9!mZ2@xL4$pR8^wT1&yN6*bH3(cJ5)dF0_gS+eU-aV=iO",
        ALLOWED_HOSTS="ssa.example.com",
        PERSONAL_DATA_KEYS="q3Zk8vP0sR2tW5yB7nD9fH1jL4mX6cV8aE0gI2kM4oQ=",
        PERSONAL_DATA_HASH_KEY="w9Yb2nE4rT6uI8oP0aS2dF4gH6jK8lZ0xC2vB4nM6qW=",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed"
)
def test_docker_compose_file_is_valid_and_demands_a_secret_key():
    command = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environment, "SECRET_KEY": "s" * 60},
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment)
    assert missing.returncode != 0
    assert "set SECRET_KEY" in missing.stderr


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == ("eager" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_audit_events_are_append_only():
    dealer = DealerFactory()
    event = audit_record(actor=None, obj=dealer, action="note", reason="first")
    event.reason = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == "first"
    assert event.actor_name == "system"
