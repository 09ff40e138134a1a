"""What every page handler of the front office works with, in one object."""
from __future__ import annotations

import datetime as dt
import secrets
import threading
from pathlib import Path
from typing import Any

import attrs
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from caruso_core.client import Client
from caruso_core.zones import UTC
from caruso_frontoffice import notices, widgets
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.articles import Articles, ArticleSettings
from caruso_frontoffice.audit import AuditTrail
from caruso_frontoffice.changes import Changes
from caruso_frontoffice.chat import PortalChat
from caruso_frontoffice.desk import Desk
from caruso_frontoffice.desksettings import DeskSettings
from caruso_frontoffice.deskphone import DeskPhone
from caruso_frontoffice.records import STORAGE, Records, in_sentence
from caruso_frontoffice.sessions import Sessions
from caruso_core.throttle import Throttle
from caruso_frontoffice.views.catalog import Catalog
from caruso_frontoffice.savedfilters import SavedFilters
from caruso_frontoffice.submissions import Submissions
from caruso_frontoffice.worksheets import Worksheets
from caruso_scripts.client import INTERFACE as SCRIPTS, Scripts, SelfService

TEMPLATES = Path(__file__).with_name("templates")
COMM = "caruso.comm/1"


class CompiledOnce(jinja2.BytecodeCache):
    """Each template compiled once per process, for all the environments made alike with this
    cache (:func:`template_environment`); a template whose source changed is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        kept = self._code.get(bucket.key)
        if kept is not None and kept[0] == bucket.checksum:
            bucket.code = kept[1]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


COMPILED = CompiledOnce()


def template_environment() -> jinja2.Environment:
    """Jinja2 over the package's templates, escaping every value (autoescape on)."""
    # templates ship with the package: read once, never checked for changes on each page;
    # compiled once for all the front offices of a process (a test run makes hundreds)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     bytecode_cache=COMPILED)
    environment.filters["when"] = widgets.when
    environment.filters["in_sentence"] = in_sentence
    return environment


@attrs.define
class Context:
    """Accounts, sessions, sign-in throttles, views, the manager client, templates, the
    self-service dialogs, the portal's web chat.

    ``setup_token`` opens the first-run page that creates the first admin; it exists
    only while there is no user. ``self_service`` names the dialog scripts the portal
    publishes; ``starts_per_minute`` limits the dialogs one client address starts,
    ``searches_per_minute`` the portal's article lists and searches it asks for. The
    agent desktop (``desk``) needs the agents' ``worksheets``; it is None without them.
    The portal publishes the knowledge base ``article_settings`` name (``articles``; None: none).
    Lists offer to save their filters with ``saved_filters``; new-record forms are saved
    once with ``submissions`` (None: a form sent twice makes two records). Forms' saves and
    deletes go to the ``audit`` trail (None: not recorded).
    ``changes`` wakes the desks' push streams. Pages show and read times in ``zone``.
    """

    accounts: Accounts
    sessions: Sessions
    catalog: Catalog
    client: Client
    name_throttle: Throttle
    address_throttle: Throttle
    templates: jinja2.Environment = attrs.field(factory=template_environment)
    setup_token: str | None = None
    setup_lock: threading.Lock = attrs.field(factory=threading.Lock)
    self_service: tuple[str, ...] = ()
    starts_per_minute: int = 30
    searches_per_minute: int = 60
    desk_settings: DeskSettings = attrs.field(factory=DeskSettings)
    worksheets: Worksheets | None = None
    article_settings: ArticleSettings | None = attrs.field(factory=ArticleSettings)
    saved_filters: SavedFilters | None = None
    submissions: Submissions | None = None
    audit: AuditTrail | None = None
    zone: dt.tzinfo = UTC
    records: Records = attrs.field(init=False)
    desk: Desk | None = attrs.field(init=False, default=None)
    phone: DeskPhone = attrs.field(init=False)
    changes: Changes = attrs.field(init=False)
    dialogs: SelfService = attrs.field(init=False)
    articles: Articles | None = attrs.field(init=False, default=None)
    chat: PortalChat = attrs.field(init=False)
    searches: Throttle = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.searches = Throttle(self.searches_per_minute, 60.0)
        if self.accounts.count() == 0:
            self.setup_token = secrets.token_urlsafe(24)
        self.records = Records(self.client.service(STORAGE), zone=self.zone)
        if self.article_settings is not None:
            self.articles = Articles(self.client.service(STORAGE), self.article_settings)
        if self.worksheets is not None:
            self.desk = Desk(self.desk_settings, self.worksheets, self.client)
        self.dialogs = SelfService(Scripts(self.client.service(SCRIPTS)), self.self_service, self.starts_per_minute)
        self.chat = PortalChat(self.client.service(COMM))
        self.phone = DeskPhone(self.client)
        self.changes = Changes(self.client)

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        """The page ``template`` for the request's visitor, with ``values``; a GET shows the
        one-time ``notice`` an action redirected to it with (see :mod:`caruso_frontoffice.notices`)."""
        visitor = getattr(request.state, "visitor", None)
        user = visitor.user if visitor else None
        values.setdefault("notice", None)
        if visitor is not None and values["notice"] is None and (taken := notices.taken(
                request, self.sessions, visitor.token)):
            values["notice"] = taken
        html = self.templates.get_template(template).render(
            user=user, csrf=visitor.csrf if visitor else "", path=request.url.path,
            menus=self.catalog.menus_for(user.role) if user else [], zone=self.zone, **values)
        response = HTMLResponse(html, status_code=status)
        notices.clear(request, response)
        return response
