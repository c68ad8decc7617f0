# One image for every Social Flow role (api, worker, rtmp, migrate); compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY control_plane control_plane
COPY workers workers
COPY pipelines pipelines
COPY fingerprint fingerprint
COPY rtmp rtmp
COPY storage storage
COPY benchmarks benchmarks
RUN pip install . && useradd --create-home --uid 10001 socialflow \
    && mkdir -p /var/lib/socialflow && chown socialflow /var/lib/socialflow
USER socialflow
EXPOSE 8000 1935
CMD ["socialflow", "serve", "--host", "0.0.0.0"]
