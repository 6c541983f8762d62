"""Azure AI Search: the index of every message version (`index`), the conversation
windows' index with their embeddings (`windows`, `embeddings`), their definitions
(`schema`), the query and filter text (`query`), and the service's requests, batches and
refusals (`service`). The only place that touches azure-search-documents.
"""
