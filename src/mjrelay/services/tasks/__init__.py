"""Task lifecycle and dispatch: submitting, routing to channels, running and recovering jobs.

Entry object: ``TaskService`` (every ``/mj`` use case, free of HTTP).
"""

from mjrelay.services.tasks.service import TaskService

__all__ = ["TaskService"]
