# Same steps as the Makefile: pinned requirements, editable install, then the
# quickstart (generate, train SEQ+MD, evaluate, export) by default.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt pyproject.toml README.md ./
RUN python -m pip install --upgrade pip && \
    python -m pip install -r requirements.txt

COPY seqmd_tf ./seqmd_tf
COPY pipelines ./pipelines
COPY data_schema ./data_schema
RUN python -m pip install --no-deps -e . && python -m pip check

# Outputs land in /app/artifacts; mount a volume there to keep them.
CMD ["seqmd", "quickstart", "--workdir", "/app/artifacts/quickstart"]
