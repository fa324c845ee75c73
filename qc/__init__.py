"""客服质检 — chat-transcript quality inspection for Chinese e-commerce customer service.

The library never imports Prefect: `pipelines/` wraps these functions in flows.
"""

__version__ = "0.1.0"
