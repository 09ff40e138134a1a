"""The service vertical's published FAQ: the questions its self-service script ``faq`` answers,
as published knowledge-base articles the portal lists and searches. The vertical's demo data
(:mod:`caruso_service.demo`) publishes them through a storage service; articles whose question
is stored already are left as they are, so publishing twice adds nothing.
"""
from __future__ import annotations

from typing import Any

ARTICLES = [
    {"product": "heating", "question": "My heating or hot water does not work: what can I check first?",
     "answer": "Check that the boiler's pressure gauge shows between 1 and 2 bar and restart it with the reset "
               "button. Radiators that stay cold at the top need bleeding."},
    {"product": "visit", "question": "How soon does an engineer come?",
     "answer": "An engineer comes within the response time of your contract: 8 hours (premium), 24 hours "
               "(standard) or 72 hours (basic). You get a text message an hour before."},
    {"product": "contract", "question": "How long does my service contract run, and how do I end it?",
     "answer": "Your contract renews every year; you can end it at any time with one month's notice."},
]


def load(storage: Any, customers: int = 0) -> dict[str, int]:
    """Publish the FAQ articles not stored yet (``customers`` is not used: the FAQ makes none);
    returns how many articles were created."""
    created = 0
    for article in ARTICLES:
        if storage.count("KnowledgeArticle", {"field": "question", "op": "eq", "value": article["question"]}):
            continue
        storage.create("KnowledgeArticle", {**article, "status": "published"})
        created += 1
    return {"KnowledgeArticle": created}
