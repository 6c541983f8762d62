"""The simulator: conversations, publication, schedule and delivery."""
