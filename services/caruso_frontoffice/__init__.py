"""The front office: the web app agents, supervisors and administrators work in.

A caruso service (``frontoffice``, interface ``caruso.frontoffice/1``) that serves an
ASGI app, server-rendered from its own Jinja2 templates, with accounts and roles, and
pages built from XML view definitions over the storage interface. It reaches the other
components only through the service manager and their interfaces; of the script
engine it uses the interface's SDK, ``caruso_scripts.client``. See docs/frontoffice.md.

Public: none (other components reach it through ``caruso.frontoffice/1`` only).
"""

PUBLIC_MODULES: tuple[str, ...] = ()
