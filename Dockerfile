# The medimg inference service: a verified bundle behind HTTP, without torch (about 0.4 GB instead of 7).
#   docker build -t medimg-serve .
#   docker run --rm -p 8000:8000 -v "$PWD/runs/demo/bundle:/bundle:ro" medimg-serve
# Trusted signing keys: -v "$PWD/keys:/keys:ro" -e MEDIMG_TRUSTED_KEYS=/keys/medimg-signing.pub
# A bearer token on /v1/: -e MEDIMG_SERVE_TOKEN=...   (TLS: terminate it at the reverse proxy or ingress in front)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1

WORKDIR /opt/medimg
COPY pyproject.toml README.md LICENSE* ./
COPY medimg ./medimg
# the serving install: the same line bench/serve_install.py runs and measures
RUN pip install ".[serve]"

RUN useradd --system --uid 10001 --no-create-home medimg
USER medimg
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"
ENTRYPOINT ["medimg", "serve", "--bundle", "/bundle", "--host", "0.0.0.0", "--port", "8000"]
