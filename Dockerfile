# OpenBid server image: slim, non-root, with a health check.
#   docker build -t openbid .
#   docker run -p 8000:8000 -e OPENBID_ADMIN_TOKEN=... openbid              (embedded Valkey)
#   docker run -p 8000:8000 -e OPENBID_REDIS_URL=redis://host:6379/0 openbid  (external)
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auction auction
COPY server server
COPY streaming streaming
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 openbid
COPY --from=build /install /usr/local
USER openbid
WORKDIR /home/openbid
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
VOLUME ["/home/openbid/openbid-data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2).status == 200 else 1)"
# SIGTERM closes every WebSocket with 1001 "going away" after answering the command in hand
STOPSIGNAL SIGTERM
CMD ["openbid", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/home/openbid/openbid-data"]
