"""caruso_scripts: XML dialog scripts for agents, web self-service and IVR.

Modules: ``expressions`` (the safe expression language),
``model`` and ``loader`` (scripts as values), ``engine`` (running a dialog),
``store`` (sessions in a database), ``service`` (``caruso.scripts/1``), ``web``,
``ivr`` and ``terminal`` (runners), ``lint``, ``graph``, ``scripttest`` and ``cli``
(developer tools). The format is documented in docs/script-format.md.
"""
