"""Cross-cutting pieces: settings, logging, ids, errors, security."""
