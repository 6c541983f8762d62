"""The pure core: envelopes, events, keys, the storage contract, plans, the thread join."""
