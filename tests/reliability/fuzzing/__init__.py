"""The fuzzing suite's parts: strategies (what is sent), oracle (what must come back),
target (the webhook over Azurite, checked after every example)."""
