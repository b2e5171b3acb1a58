"""xlir: multilingual dense retrieval.

Trains bi-encoders with hybrid batch sampling (Elmahdy, Lin & Ahmad, arXiv 2408.10536) and evaluates
them zero-shot the LAReQA way (Roy et al., arXiv 2004.05484): monolingual, cross-lingual and pooled
multilingual retrieval, plus language bias.

The package is layered, each layer importing only from the ones before it:
``data -> models -> training -> evaluation -> experiments -> reports``; ``cli`` only wires.
"""

__version__ = "0.1.0"
