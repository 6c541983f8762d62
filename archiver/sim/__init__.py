"""Developer tooling, never deployed: ACS and Event Grid simulated (conversations,
wording, publication, schedule, delivery, simulator), the ground truth of a run
(truth), judging an archive against it (judge), and the one-command demo.

May import: the product and archiver.hosts; not cli.
"""
