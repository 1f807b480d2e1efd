# syntax=docker/dockerfile:1
# The Stripe emulator (development and staging only): docker build -f deploy/emulator.Dockerfile .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /src
COPY constraints.txt ./
COPY stripe-emulator/pyproject.toml stripe-emulator/pyproject.toml
COPY stripe-emulator/stripe_emulator stripe-emulator/stripe_emulator
RUN pip install -c constraints.txt ./stripe-emulator

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 hotelmate && useradd --system --uid 10001 --gid 10001 --no-create-home hotelmate
COPY --from=builder /venv /venv
# The source tree (with Stripe's fixtures in stripe_emulator/data/) comes first on the path.
COPY stripe-emulator/stripe_emulator /app/stripe_emulator
ENV PYTHONPATH=/app
WORKDIR /app
USER 10001:10001
EXPOSE 12111
CMD ["python", "-m", "stripe_emulator", "--host", "0.0.0.0"]
