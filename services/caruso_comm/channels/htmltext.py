"""The text of an HTML e-mail body as its reader sees it: character references resolved,
scripts, styles and the head left out, a line for each line break, list item, table row
and block, a blank line around paragraphs and headings, words otherwise as written; at
most ``MAX_HTML`` characters are read (the rest of a longer body is cut). Python's HTML
parser: no entity is ever loaded, nothing is fetched."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

SKIPPED = ("script", "style", "head", "title")
LINES = ("br", "div", "li", "tr")                                  # a new line before each
PARAGRAPHS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol")   # a blank line around
CELLS = ("td", "th")
EMPTY_LINES = re.compile(r"\n{3,}")
MAX_HTML = 512 * 1024


def html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html[:MAX_HTML])
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return EMPTY_LINES.sub("\n\n", "\n".join(lines)).strip()


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in LINES:
            self.parts.append("\n")
        elif tag in PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag in CELLS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.handle_starttag(tag, attrs)          # <br/>: one line break, not two

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
