"""mjrelay: a Midjourney-compatible ``/mj`` relay with durable tasks and pluggable engines."""

__version__ = "0.1.0"
