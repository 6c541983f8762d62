"""The command line: commands, exit codes, progress."""
