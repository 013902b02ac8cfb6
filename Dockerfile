# One image for every Ruche process; docker-compose.yml picks the command (api, worker, scheduler).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md ./
COPY core ./core
COPY task_types ./task_types
COPY api ./api
COPY workers ./workers
COPY producers ./producers
COPY ruche ./ruche
COPY web ./web
RUN pip install .

# Never run as root inside the container.
RUN useradd --system --uid 10001 --no-create-home ruche
USER ruche

EXPOSE 8000
CMD ["ruche", "api", "--host", "0.0.0.0", "--port", "8000"]
