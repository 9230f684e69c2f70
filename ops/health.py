"""GET /healthz: each part the node needs, checked for real, as JSON (503 when one fails)."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from imaging.dicom.echo import c_echo
from ops.models import Heartbeat

Check = Callable[[], dict[str, Any]]


def _listener_host(configured: str) -> str:
    if configured:
        return configured
    return "127.0.0.1" if settings.BIND_ADDRESS in ("0.0.0.0", "") else settings.BIND_ADDRESS  # noqa: S104


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        transport = conn.transport_cls
    return {"ok": True, "transport": str(transport)}


def check_worker() -> dict[str, Any]:
    beat = Heartbeat.objects.filter(process="worker").first()
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = (timezone.now() - beat.beat_at).total_seconds()
    return {"ok": age < 4 * settings.HEARTBEAT_SECONDS + 10, "seconds_since_heartbeat": round(age)}


def check_disk() -> dict[str, Any]:
    usage = shutil.disk_usage(settings.VAR_DIR)
    return {"ok": usage.free > settings.HEALTH_MIN_FREE_BYTES, "free_bytes": usage.free}


def check_mllp() -> dict[str, Any]:
    host = _listener_host(settings.HEALTH_MLLP_HOST)
    with socket.create_connection((host, settings.MLLP_PORT), timeout=3):
        pass
    return {"ok": True, "port": settings.MLLP_PORT}


def check_dicom() -> dict[str, Any]:
    status = c_echo(host=_listener_host(settings.HEALTH_DICOM_HOST), port=settings.DICOM_PORT,
                    called_ae=settings.DICOM_AE_TITLE, calling_ae="HEALTHCHECK", timeout=5)
    return {"ok": status == 0x0000, "port": settings.DICOM_PORT, "c_echo_status": status}


CHECKS: dict[str, Check] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "disk": check_disk,
    "mllp": check_mllp,
    "dicom": check_dicom,
}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:  # a health check reports failures, it does not raise them
            result = {"ok": False, "error": type(exc).__name__}
        result["ms"] = round((time.monotonic() - started) * 1000)
        results[name] = result
    healthy = all(r["ok"] for r in results.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results},
                        status=200 if healthy else 503)
