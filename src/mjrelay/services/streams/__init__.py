"""Live progress: per-task and per-tenant event streams, fanned out across instances.

Entry object: ``TaskBroker``.
"""

from mjrelay.services.streams.broker import TaskBroker

__all__ = ["TaskBroker"]
