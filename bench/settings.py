"""The production settings, with the one change the benchmarks need: webhooks may go over plain
HTTP to the loopback receiver (production allows only https; WEBHOOK_ALLOWED_NETWORKS still has
to let loopback through, as the benchmark's environment does)."""

from config.settings.production import *  # noqa: F403

WEBHOOK_ALLOW_HTTP = True
