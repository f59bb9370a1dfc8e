"""The production settings (DEBUG off) serve pages over collected static files."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROBE = """
import django, json
django.setup()
from django.test import Client
client = Client()
page = client.get("/accounts/login/")
body = page.content.decode()
start = body.index("/static/css/app.")
css_url = body[start:body.index('"', start)]
css = client.get(css_url)
print(json.dumps({"page": page.status_code, "css_url": css_url, "css": css.status_code,
                  "css_type": css.get("Content-Type", "")}))
"""


def _production_env(tmp_path: Path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="production-settings-test-" + "x" * 40,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp_path / "static"),
        SSA_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="ssa_ops.settings",
    )
    return env


def test_debug_off_serves_the_sign_in_page_with_its_hashed_static_files(tmp_path):
    # given: static files collected the way the image collects them (DEBUG off)
    env = _production_env(tmp_path)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, timeout=120
    )
    assert (tmp_path / "static" / "staticfiles.json").exists()
    # when: the sign-in page and its stylesheet are requested with the same settings
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # then: both answer 200, the stylesheet under its content-hashed name
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["page"] == 200
    assert probe["css"] == 200 and probe["css_type"].startswith("text/css")
    assert probe["css_url"] != "/static/css/app.css"


def test_the_image_collects_static_files_with_debug_off_where_compose_serves_them():
    dockerfile = (Path(settings.BASE_DIR) / "Dockerfile").read_text()
    compose = (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()
    build_env = dockerfile[dockerfile.index("compilemessages") : dockerfile.index("collectstatic")]
    assert "DEBUG=0" in build_env and "DEBUG=1" not in build_env
    assert "STATIC_ROOT=/app/staticfiles python manage.py" in dockerfile
    assert "STATIC_ROOT: /app/staticfiles" in compose
