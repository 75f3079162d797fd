"""Settings come from the environment; production refuses to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-key-" + "x" * 40,
    "ALLOWED_HOSTS": "crm.example.com",
    "DATABASE_URL": "postgres://safqa:secret@db:5432/safqa",
    "REDIS_URL": "redis://redis:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def test_check_deploy_passes_with_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start_with_a_clear_message():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_development_defaults_to_embedded_sqlite_and_in_process_celery():
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME']);"
        "print(settings.CELERY_TASK_ALWAYS_EAGER, settings.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    engine_line, celery_line = result.stdout.strip().splitlines()[-2:]
    assert engine_line.startswith("django.db.backends.sqlite3")
    assert engine_line.endswith(str(Path("var") / "safqa.sqlite3"))
    assert celery_line == "True django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_switches_broker_and_cache_to_redis():
    code = (
        "from django.conf import settings;"
        "print(settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER, settings.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "-c", code, REDIS_URL="redis://redis:6379/0")
    assert result.stdout.strip().splitlines()[-1] == "redis://redis:6379/0 False core.cache.RedisCache"


def test_email_url_configures_smtp():
    code = (
        "from django.conf import settings;"
        "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS)"
    )
    result = manage("shell", "-c", code, EMAIL_URL="smtp+tls://u:p@smtp.example.com:587")
    assert (
        result.stdout.strip().splitlines()[-1]
        == "django.core.mail.backends.smtp.EmailBackend smtp.example.com 587 True"
    )


def test_generated_secret_key_lives_in_gitignored_var():
    def ignored(path):
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0

    # var/ is in the checkout (settings create no directory); what is written into it is never committed.
    assert ignored("var/secret_key") and ignored("var/safqa.sqlite3") and ignored("var/celerybeat-schedule")
    assert not ignored("var/.gitkeep")


@pytest.mark.parametrize(("switch", "installed"), [({}, "False"), ({"SAFQA_BENCH": "1"}, "True")])
def test_the_benchmark_app_is_installed_in_production_only_when_asked_for(switch, installed):
    code = "from django.conf import settings; print('bench' in settings.INSTALLED_APPS)"
    result = manage("shell", "-c", code, **PRODUCTION, **switch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == installed


def test_email_url_sets_each_email_setting_by_name():
    code = (
        "from django.conf import settings;"
        "print(settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS)"
    )
    result = manage("shell", "-c", code, EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "smtp.example.com 587 mailer True"
