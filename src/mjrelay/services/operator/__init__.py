"""The operator layer: ledger and prices, admission limits, callbacks, metrics, administration.

Entry object: ``Operator`` (what the task lifecycle and the routes ask of the paid service).
"""

from mjrelay.services.operator.service import Operator

__all__ = ["Operator"]
