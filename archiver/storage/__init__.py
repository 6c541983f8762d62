"""Storage: the ports the archive use case needs, and the adapters behind them."""
