"""The read side: the archive read back as transcripts and over the read API.

Owns reading rows and version blobs back in order (readback), what a transcript says
(transcript), how it is written out (formats: JSON, JSON Lines, CSV), exporting it
(export), RSMF for review platforms (the rsmf package), the evidence a transcript
carries and its proof (evidence), what a seal's blobs say of a thread (sealedthread),
transcripts kept as blobs (transcriptblobs), the read API (api), one version handed
over with its proof (disclosure) and the analytics export as Parquet (the analytics
package, never deployed).

May import: archiver.core, archiver.storage, archiver.capture, archiver.governance (the
audit trail) and archiver.sealing.
"""
