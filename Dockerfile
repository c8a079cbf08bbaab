FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 SPOKESWATCH_DATABASE=sqlite:////data/spokeswatch.sqlite3
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY scrapers ./scrapers
COPY models ./models
RUN pip install --no-cache-dir . && mkdir -p /data && useradd --system spokeswatch && chown spokeswatch /data
COPY config.yaml ./config.yaml
USER spokeswatch
WORKDIR /data
VOLUME ["/data"]
CMD ["spokeswatch", "run", "-c", "/app/config.yaml"]
