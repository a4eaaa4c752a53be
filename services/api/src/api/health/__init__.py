"""The greeting and the health probes."""
