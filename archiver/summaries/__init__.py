"""End-of-conversation summaries: a language model's summary of each transcript that
archive-thread writes, kept beside it as derived, never as the record.

Owns the use case (summarizer: which transcript, the legal-hold rule, the answer checked
and stored create-only, every failure reported and none passed on) and the one adapter
that touches the `openai` SDK (azureopenai: Azure OpenAI, signed in to with the app's
Microsoft Entra identity). What is asked and what an answer must be are pure, in
archiver.core.summaries. Off unless ARCHIVE_SUMMARY_DEPLOYMENT and AZURE_OPENAI_ENDPOINT
are set.

May import: archiver.core, archiver.storage and archiver.governance; `openai` and
azure.identity in azureopenai only.
"""
