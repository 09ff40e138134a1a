"""The knowledge base the portal publishes: the object of its articles, the model's full-text
search over them, the attributes shown as an article's title and text, and the filter that
makes an article public (by default the knowledge module's published ``KnowledgeArticle``;
the portal shows none while the storage's model has no such object). Everything is read
through the storage interface; nothing but public articles is read. :func:`problems` checks
settings against a model's description (``caruso frontoffice views check``).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Mapping

import attrs

from caruso_core.errors import CarusoError, ConfigError, NotFound

PAGE = 10            # articles on one page of the portal
MAX_PAGE = 100       # the last page anyone may ask for
MAX_TEXT = 200       # the longest text searched for (the storage's own bound)
PUBLISHED = {"field": "status", "op": "eq", "value": "published"}
RECHECK = 60.0       # seconds the answer to "does the model have the articles' object" is kept
log = logging.getLogger("caruso.frontoffice")


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
        self._known: tuple[bool, float] | None = None     # (the model has the object, when asked)

    def available(self) -> bool:
        """Whether the storage's model has the articles' object (asked at most once a minute;
        False while the storage does not answer)."""
        known = self._known
        if known is not None and time.monotonic() - known[1] < RECHECK:
            return known[0]
        try:
            self.storage.describe(self.settings.object)
            found = True
        except NotFound:
            found = False
        except CarusoError as error:
            log.warning("the portal's knowledge base cannot be asked for now: %s", error)
            return False
        self._known = (found, time.monotonic())
        return found

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


def problems(settings: ArticleSettings, objects: Mapping[str, Any]) -> list[str]:
    """What ``settings`` name that the model described as ``objects`` (``describe()["objects"]``)
    lacks, one line each."""
    described = objects.get(settings.object)
    if described is None:
        return [f"articles: the model has no object {settings.object!r}"]
    where, attributes = f"articles: {settings.object}", described["attributes"]
    searches = described.get("searches", {})
    found = [] if settings.search in searches else [
        f"{where} has no search {settings.search!r} (searches: {', '.join(searches) or 'none'})"]
    for role in ("key", "title", "text"):
        name = getattr(settings, role)
        if name not in attributes:
            found.append(f"{where} has no attribute {name!r} (the articles' {role})")
    found += [f"{where} has no attribute {name!r} (in the published filter)"
              for name in _fields(settings.published) if name not in attributes]
    return found


def _fields(condition: Any) -> list[str]:
    """The fields a storage filter names."""
    if isinstance(condition, Mapping):
        if "field" in condition:
            return [str(condition["field"])]
        return [name for inner in condition.values() for name in _fields(inner)]
    if isinstance(condition, list):
        return [name for inner in condition for name in _fields(inner)]
    return []
