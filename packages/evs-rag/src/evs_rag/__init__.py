"""evs-rag: embedding, reranker and end-to-end RAG evaluation (MTEB, RAGAS, CLIP-style retrieval).

Import-light: the heavy libraries (torch, mteb, sentence-transformers, ragas) are imported inside
the functions that run an evaluation, never here.
"""

__version__ = "0.1.0"
