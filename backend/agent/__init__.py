"""ChatSphere's AI library: parsing, chunking, embeddings, vector stores, LLMs and RAG.

It imports nothing from `app`. Providers are built by `agent.factory` from an
`AgentSettings` value passed in by the caller; nothing here reads global settings.
Plain dataclasses from `agent.types` cross the boundary.
"""
