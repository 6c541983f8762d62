"""The read side: export, formats, transcripts and the read API."""
