"""Engines do the work behind the API: one module per engine, all behind ``base.Engine``."""
