"""The image recipe keeps the contract the pods rely on: hashed offline install, uid 10001,
the app importable from anywhere (PYTHONPATH), tormq's entrypoint taking PushService's args."""

from __future__ import annotations

import re
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
DOCKERFILE = (BACKEND / "Dockerfile").read_text()


def stage(name: str) -> str:
    m = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
    assert m, f"no stage {name}"
    return m.group(1)


def test_installs_only_the_locked_wheels_with_hashes() -> None:
    app = stage("app")
    assert "pip install --no-cache-dir --no-index --find-links /tmp/wheels/ --require-hashes -r /app/requirements.txt" in app
    for src in re.findall(r"^COPY (\S+) ", app, re.M):
        if src != "wheels/":  # fetched by fetch-wheels.sh, not committed
            assert (BACKEND / src).exists(), f"COPY {src}: no such file in backend/"


def test_runs_as_the_app_uid_with_the_app_on_the_path() -> None:
    app = stage("app")
    # APP_UID in components/app/appPod.ts
    assert "USER 10001:10001" in app
    assert "PYTHONPATH=/app" in app and "PATH=/opt/venv/bin:$PATH" in app and "WORKDIR /app" in app
    assert "PYTHONDONTWRITEBYTECODE=1" in app  # read-only root filesystem


def test_tormq_image_takes_the_push_service_args() -> None:
    assert 'ENTRYPOINT ["python", "-m", "app.tormq"]' in stage("tormq")


def test_every_runtime_pin_has_hashes() -> None:
    lock = (BACKEND / "requirements.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", lock, re.M)
    names = {p[0].lower() for p in pins}
    assert {"django", "celery", "gevent", "redis", "pymysql", "tornado", "pyzmq", "msgpack", "pyuwsgi"} <= names
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9_.-]+==", lock, re.M))
    assert next(v for n, v, _ in pins if n.lower() == "django").startswith("5.2.")
