"""Questions by e-mail: a message to the ``email`` channel's questions address becomes an
article of the knowledge base in the storage service (``caruso.storage/1``), as a question
asked in the portal does, so the model's rules make its task; the channel sends the sender
the acknowledgement ``reply`` through its relay.

Configuration (``questions`` of the ``email`` channel): ``address`` (required: mail to it is
a question), ``object`` (default ``KnowledgeArticle``), ``field`` (the attribute holding the
question, ``question``), ``values`` (the other attributes of the new object, default
``{status = "unanswered", asked = 1}``), ``count`` (the integer attribute a question asked
again in the same words raises on its object instead of a new object being made; default
``asked`` when the values hold it, none otherwise: every message makes an object),
``max_length`` (characters of a question, 300), ``reply`` (the acknowledgement's text;
empty: none is sent).

The question is the message's text (of an HTML-only message, the text between its tags,
scripts and styles left out) with its blanks and line breaks folded into single spaces. A message without text, or with more than ``max_length`` characters, is refused
(logged, nothing written); so is one the storage refuses (InvalidInput, whose message says why).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from caruso_core.context import HostContext
from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage.counting import stored_once

from caruso_comm.channels.htmltext import html_text

log = logging.getLogger("caruso.comm.email")
STORAGE = "caruso.storage/1"
DEFAULT_VALUES = {"status": "unanswered", "asked": 1}
DEFAULT_REPLY = ("Thank you for your question. Our specialists answer it soon; the answer then appears "
                 "in our questions and answers.")
KEYS = ("address", "object", "field", "values", "count", "max_length", "reply")
COUNT = "asked"


class MailQuestions:
    """What becomes of a message to ``address``."""

    def __init__(self, context: HostContext, address: str, object: str = "KnowledgeArticle",
                 field: str = "question", values: Mapping[str, Any] | None = None, count: str | None = None,
                 max_length: int = 300, reply: str = DEFAULT_REPLY) -> None:
        self.context = context
        self.address, self.object, self.field = address, object, field
        self.values = dict(DEFAULT_VALUES if values is None else values)
        self.count = count if count is not None else COUNT if COUNT in self.values else None
        self.max_length, self.reply = max_length, reply

    @classmethod
    def of(cls, config: Any, context: HostContext) -> "MailQuestions | None":
        """The questions of the channel's ``questions`` configuration (None: no such address)."""
        if config is None:
            return None
        if not isinstance(config, Mapping) or not isinstance(config.get("address"), str) or "@" not in config["address"]:
            raise ConfigError("email channel: questions needs address = \"questions@...\"")
        unknown = sorted(set(config) - set(KEYS))
        if unknown:
            raise ConfigError(f"email channel: questions has unknown key(s) {', '.join(map(str, unknown))} "
                              f"(keys: {', '.join(KEYS)})")
        for name in ("object", "field", "count", "reply"):
            if name in config and not isinstance(config[name], str):
                raise ConfigError(f"email channel: questions {name} must be text, not {config[name]!r}")
        if "values" in config and not isinstance(config["values"], Mapping):
            raise ConfigError("email channel: questions values must be a table of attribute values")
        length = config.get("max_length", 300)
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ConfigError(f"email channel: questions max_length must be a positive whole number, not {length!r}")
        return cls(context, **config)

    def addressed(self, recipients: list[str]) -> bool:
        """Whether a message to ``recipients`` is a question."""
        return any(recipient.lower() == self.address.lower() for recipient in recipients)

    def ask(self, sender: str, text: str, html: bool = False) -> dict[str, Any]:
        """Store the question ``text`` (``html``: an HTML body) of ``sender``; returns the new
        object, or the one that holds the same question with its ``count`` raised. InvalidInput
        (and a log line) when there is no question or it is too long; the storage's errors as
        they are."""
        question = " ".join((html_text(text) if html else text).split())
        if not question:
            log.warning("e-mail question from %s refused: the message has no text", sender)
            raise InvalidInput("the message has no text: please write your question in it")
        if len(question) > self.max_length:
            log.warning("e-mail question from %s refused: %d characters (at most %d)", sender, len(question),
                        self.max_length)
            raise InvalidInput(f"the question has more than {self.max_length} characters: please ask it shorter")
        storage = self.context.client.service(STORAGE)
        values = {**self.values, self.field: question}
        stored = (storage.create(self.object, values) if self.count is None
                  else stored_once(storage, self.object, values, self.field, self.count))
        log.info("e-mail question from %s stored in %s", sender, self.object)
        return stored
