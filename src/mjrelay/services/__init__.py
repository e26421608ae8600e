"""Use cases: what the API asks for, done with the store and the engines."""
