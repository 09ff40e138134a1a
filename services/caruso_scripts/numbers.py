"""Numbers as people write and read them, by locale: decimal mark and thousands separator.

Contract:

- :func:`number_format` gives the :class:`NumberFormat` of a locale tag (``en``,
  ``de-DE``, ``de-CH``, ``fr``, ...: the language decides, a few regions differ); an
  unknown tag is a ``ValueError`` naming the languages known.
- :meth:`NumberFormat.canonical` turns typed text into the canonical form ``-1250.5``
  (no grouping, ``.`` as decimal point); text that is no number at all is a
  ``ValueError``, text that could be meant another way is :class:`Unclear` (a
  ``ValueError`` too), each with a message for the person typing. Text is read only one way: the decimal mark at most once; groups
  of exactly three digits after the first, all separated by the same mark (the
  locale's thousands separator, or a space); the other of ``.`` and ``,`` is refused
  where the locale does not use it. So in ``en`` ``1,250`` is 1250 while ``1,5`` and
  ``12,50`` are refused as unclear, and in ``de`` ``12,50`` is 12.5 and ``1.5`` is
  refused.
- :meth:`NumberFormat.show` writes a canonical number with the locale's decimal mark
  (no grouping), which :meth:`canonical` reads back.
"""
from __future__ import annotations

import re

import attrs

from caruso_core.digits import digits

SPACES = " \u00a0\u202f"
POINT_COMMA = (".", ",")
COMMA_POINT = (",", ".")
COMMA_SPACE = (",", " ")
POINT_APOSTROPHE = (".", "'")
LANGUAGES = {
    **dict.fromkeys(("en", "ga", "cy", "mt", "ja", "zh", "ko", "he", "th", "hi", "ms"), POINT_COMMA),
    **dict.fromkeys(("de", "nl", "es", "it", "pt", "da", "id", "tr", "el", "ro", "hr", "sl", "sr", "ca", "is",
                     "vi"), COMMA_POINT),
    **dict.fromkeys(("fr", "sv", "nb", "nn", "no", "fi", "pl", "cs", "sk", "ru", "uk", "bg", "hu", "et", "lv",
                     "lt"), COMMA_SPACE),
}
REGIONS = {"de-CH": POINT_APOSTROPHE, "de-LI": POINT_APOSTROPHE, "it-CH": POINT_APOSTROPHE,
           "es-MX": POINT_COMMA, "es-US": POINT_COMMA, "pt-PT": COMMA_SPACE}
TAG = re.compile(r"([A-Za-z]{2,3})(?:-([A-Za-z]{2}))?")
APOSTROPHES = "'\u2019"


class Unclear(ValueError):
    """Typed text that is no number in the locale, or could be read more than one way."""


@attrs.frozen
class NumberFormat:
    """How numbers are written where the locale ``tag`` applies."""

    tag: str
    decimal: str
    group: str

    @property
    def separators(self) -> str:
        """Every character that may separate groups of thousands."""
        return SPACES + (APOSTROPHES if self.group == "'" else "" if self.group == " " else self.group)

    def show(self, canonical: str) -> str:
        """``canonical`` (``-1250.5``) with the locale's decimal mark."""
        return canonical.replace(".", self.decimal)

    def canonical(self, text: str) -> str:
        """The number in ``text`` as ``-1250.5``; see the module's contract."""
        body = text.strip()
        sign = "-" if body.startswith("-") else ""
        body = body[len(sign):]
        if re.search(f"[^0-9.,{re.escape(self.separators)}]", body):
            raise ValueError(f"'{text}' is not a number.")
        other = "," if self.decimal == "." else "."
        if other in body and other not in self.separators:
            raise Unclear(f"'{text}' is not clear here: write decimals with '{self.decimal}', "
                          f"e.g. {self.show('12.5')}.")
        whole, mark, fraction = body.partition(self.decimal)
        if any(char in self.separators for char in fraction):
            raise self._unclear(text)
        separator = f"[{re.escape(self.separators)}]"
        groups = re.split(separator, whole)
        if not all(map(digits, groups)) or (mark and not digits(fraction)):
            raise ValueError(f"'{text}' is not a number.")
        if len(groups) > 1 and (len(set(re.findall(separator, whole))) > 1 or len(groups[0]) > 3
                                or any(len(group) != 3 for group in groups[1:])):
            raise self._unclear(text)
        return sign + "".join(groups) + (f".{fraction}" if mark else "")

    def _unclear(self, text: str) -> Unclear:
        group, thousands = ("a space", "1 250") if self.group == " " else (f"'{self.group}'", f"1{self.group}250")
        return Unclear(f"'{text}' is not clear here: {group} separates thousands (e.g. {thousands}) "
                       f"and '{self.decimal}' marks decimals (e.g. {self.show('12.5')}).")


def number_format(tag: str) -> NumberFormat:
    """The number format of the locale ``tag`` (``de-CH``; also ``de_ch``); a ValueError
    for a tag not known."""
    match = TAG.fullmatch(tag.replace("_", "-")) if isinstance(tag, str) else None
    language = match.group(1).lower() if match else ""
    if language not in LANGUAGES:
        raise ValueError(f"locale {tag!r} is not known; give a language ({', '.join(sorted(LANGUAGES))}), "
                         "optionally with a region (de-CH)")
    name = language + (f"-{match.group(2).upper()}" if match.group(2) else "")
    decimal, group = REGIONS.get(name, LANGUAGES[language])
    return NumberFormat(name, decimal, group)


ENGLISH = number_format("en")
