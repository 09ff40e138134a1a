"""caruso_scripts: XML dialog scripts for agents, web self-service and IVR.

Public: ``caruso_scripts.client`` (the SDK of ``caruso.scripts/1``: typed views, errors,
sequence numbers, the self-service rules; it loads nothing of the engine),
``caruso_scripts.actions`` (the contract of dialog actions, for plugins of the hook
``caruso_script_actions``), ``caruso_scripts.startneeds`` (what the scripts of a
deployment need of the context a starter gives, checked without the service) and
``caruso_scripts.contract`` (the interface's contract suite). Other components import
nothing else of this package.

Internal modules: ``expressions`` (the safe expression language), ``model`` and ``loader``
(scripts as checked values), ``answers`` (typed answers), ``numbers`` (numbers as a
locale writes them), ``bounds`` (the cost of a dialog), ``values`` (typed, stored and
wire forms), ``engine`` (running a dialog), ``store`` (sessions in a database),
``outbox`` and ``mailer`` (e-mail of actions, queued in that database and sent over SMTP
in the background), ``service`` (``caruso.scripts/1``), ``web``, ``ivr`` and ``terminal`` (runners),
``lint``, ``graph``, ``modelcheck``, ``memory_storage``, ``scripttest`` and ``cli``
(developer tools), ``errors``, ``hookspecs``.
The format is documented in docs/script-format.md.
"""

PUBLIC_MODULES = ("caruso_scripts.client", "caruso_scripts.actions", "caruso_scripts.startneeds",
                  "caruso_scripts.contract")
