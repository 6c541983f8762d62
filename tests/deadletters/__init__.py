"""Dead-letter replay."""
