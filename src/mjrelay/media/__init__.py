"""Images: validating what clients send and storing what engines make."""
