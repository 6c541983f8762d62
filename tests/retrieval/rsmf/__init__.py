"""RSMF: manifests, their rules, files and export."""
