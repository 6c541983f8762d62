"""Running the archiver on a laptop, never in Azure: the local host (devhost) that
serves function_app's routes, the live viewer and its feed, and the Azurite launcher.

May import: everything of the product (core to acs, bootstrap, function_app); not sim
or cli.
"""
