"""caruso_scripts: XML dialog scripts for agents, web self-service and IVR.

Modules: ``expressions`` (the safe expression language), ``model`` and ``loader``
(scripts as checked values), ``answers`` (typed answers), ``values`` (typed, stored
and wire forms), ``engine`` (running a dialog), ``store`` (sessions in a database),
``service`` (``caruso.scripts/1``) and ``contract`` (its contract suite), ``web``,
``ivr`` and ``terminal`` (runners), ``lint``, ``graph``, ``modelcheck``,
``memory_storage``, ``scripttest`` and ``cli`` (developer tools), ``errors``.
The format is documented in docs/script-format.md.
"""
