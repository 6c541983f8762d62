"""The benchmark: the archiver against the least storage work possible and a naive handler.

Run it with `python -m bench` (see README, Performance). It is a measurement, not a
test: the figures are rates and ratios from one run on one machine.
"""
