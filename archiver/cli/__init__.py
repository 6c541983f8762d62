"""The `archiver` command: one thin module per command group, parsing arguments and
printing reports; the work is done by the packages below it.

May import: everything else of the archiver.
"""
