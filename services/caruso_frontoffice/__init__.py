"""The front office: the web app agents, supervisors and administrators work in.

A caruso service (``frontoffice``, interface ``caruso.frontoffice/1``) that serves an
ASGI app, server-rendered from Jinja2 templates, with accounts and roles, and pages
built from XML view definitions over the storage interface. It reaches the other
components only through the service manager. See docs/frontoffice.md.
"""
