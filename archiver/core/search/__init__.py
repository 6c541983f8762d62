"""Search, decided: what a message version is as a search document, what a query asks,
and what a hit cites. Pure: the indexes that store documents live in archiver.search.
"""
