# OpenBid server image: slim, non-root, with a health check.
#   docker build -t openbid .
#   docker run -p 8000:8000 -e OPENBID_ADMIN_TOKEN=... openbid              (embedded Valkey)
#   docker run -p 8000:8000 -e OPENBID_REDIS_URL=redis://host:6379/0 openbid  (external)
# It speaks plain HTTP on 0.0.0.0 for a TLS front (compose.yaml puts Caddy there); to serve
# HTTPS itself, mount a certificate and add --certfile/--keyfile.
# BASE may name any Debian-like image with python3 >= 3.11 and its venv module, such as a
# mirror's copy of python:3.12-slim where Docker Hub is out of reach:
#   docker build --build-arg BASE=registry.example/python:3.12-slim -t openbid .
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
WORKDIR /src
RUN python3 -m venv /opt/openbid
COPY pyproject.toml README.md requirements.lock ./
RUN /opt/openbid/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY auction auction
COPY server server
COPY streaming streaming
RUN /opt/openbid/bin/pip install --no-cache-dir --no-deps .

FROM ${BASE}
# The signed PDFs embed a CJK font (server/documents.py)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# The data dir exists and is the user's before VOLUME: else Docker makes it root's
RUN useradd --create-home --uid 10001 openbid \
 && install -d -o openbid -g openbid /home/openbid/openbid-data
COPY --from=build /opt/openbid /opt/openbid
ENV PATH=/opt/openbid/bin:$PATH PYTHONUNBUFFERED=1
USER openbid
WORKDIR /home/openbid
EXPOSE 8000
VOLUME ["/home/openbid/openbid-data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2).status == 200 else 1)"
# SIGTERM closes every WebSocket with 1001 "going away" after answering the command in hand
STOPSIGNAL SIGTERM
CMD ["openbid", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/home/openbid/openbid-data"]
