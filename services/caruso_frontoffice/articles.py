"""The knowledge base the portal publishes: the object of its articles, the model's full-text
search over them, the attributes shown as an article's title and text, and the filter that
makes an article public (by default the knowledge module's published ``KnowledgeArticle``).
Everything is read through the storage interface; nothing but public articles is read.
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from caruso_core.errors import ConfigError

PAGE = 10            # articles on one page of the portal
MAX_PAGE = 100       # the last page anyone may ask for
MAX_TEXT = 200       # the longest text searched for (the storage's own bound)
PUBLISHED = {"field": "status", "op": "eq", "value": "published"}


@attrs.frozen
class ArticleSettings:
    """Where the portal's articles are: ``object``, its ``search``, its ``key``, the ``title``
    and ``text`` attributes and the ``published`` filter (storage filter data)."""

    object: str = "KnowledgeArticle"
    search: str = "faq"
    key: str = "id"
    title: str = "question"
    text: str = "answer"
    published: Mapping[str, Any] = attrs.field(factory=lambda: dict(PUBLISHED))

    @classmethod
    def of(cls, config: Mapping[str, Any] | bool | None) -> "ArticleSettings | None":
        """The settings of the front office's ``articles`` configuration: a table of the fields
        above (the rest default), true or absent for the defaults, false for no knowledge base."""
        if config is None or config is True:
            return cls()
        if config is False:
            return None
        if not isinstance(config, Mapping):
            raise ConfigError(f"frontoffice articles must be a table or false, not {config!r}")
        known = [field.name for field in attrs.fields(cls)]
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ConfigError(f"frontoffice articles: unknown key(s) {', '.join(map(str, unknown))} "
                              f"(keys: {', '.join(known)})")
        for name, value in config.items():
            if name == "published" and not isinstance(value, Mapping) or name != "published" and not (
                    isinstance(value, str) and value):
                expected = "a storage filter (a table)" if name == "published" else "a name"
                raise ConfigError(f"frontoffice articles: {name} must be {expected}, not {value!r}")
        return cls(**config)


class Articles:
    """The public articles of ``storage`` (a ``caruso.storage/1`` proxy) as ``settings`` say."""

    def __init__(self, storage: Any, settings: ArticleSettings) -> None:
        self.storage, self.settings = storage, settings

    def page(self, text: str, number: int) -> tuple[list[dict[str, Any]], bool]:
        """Page ``number`` (from 1) of the public articles holding every word of ``text``, best
        match first (all of them by title when ``text`` is blank), and whether more follow."""
        settings, offset = self.settings, (number - 1) * PAGE
        if text.strip():
            found = self.storage.search(settings.object, settings.search, text, where=dict(settings.published),
                                        limit=PAGE + 1, offset=offset)
        else:
            found = self.storage.query(settings.object, dict(settings.published), order_by=[settings.title],
                                       limit=PAGE + 1, offset=offset)
        return [self.shown(article) for article in found[:PAGE]], len(found) > PAGE

    def article(self, key: str) -> dict[str, Any] | None:
        """The public article with ``key`` (None: there is none, or it is not public)."""
        settings = self.settings
        found = self.storage.query(settings.object, {"and": [dict(settings.published),
                                                             {"field": settings.key, "op": "eq", "value": key}]},
                                   limit=1)
        return self.shown(found[0]) if found else None

    def shown(self, article: dict[str, Any]) -> dict[str, Any]:
        """What the portal shows of an article: its ``key``, ``title`` and ``text``."""
        settings = self.settings
        return {"key": article[settings.key], "title": article[settings.title], "text": article[settings.text] or ""}
