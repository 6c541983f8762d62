"""The local host, the live viewer and its feed."""
