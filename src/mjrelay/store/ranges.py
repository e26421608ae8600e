"""The ranges the database columns hold, for checking numbers before they reach a query.

A number outside its column's range does not just match nothing: the driver refuses to bind it
(SQLite: "Python int too large", PostgreSQL: "value out of int32 range"), which would surface as
a server error. Callers bound ids, counts and timestamps by these, and answer out-of-range
values as bad input.
"""

from __future__ import annotations

# ``Integer`` columns (row ids, tenant and key ids, counts): PostgreSQL's int4.
MAX_INT = 2**31 - 1
# ``BigInteger`` columns (epoch milliseconds, money units): int8 on both databases.
MAX_BIG_INT = 2**63 - 1
