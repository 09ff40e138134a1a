"""caruso_actions: the built-in actions of dialog scripts (pluggy hook ``caruso_script_actions``).

Every action is called as ``action(context, **params)``: ``context`` is the engine's
action context (``session``, ``script``, ``step``, ``key`` unique per run, ``context``
of the session, ``settings`` of the engine, ``service(name_or_interface)`` returning a
proxy through the service manager); ``params`` are the script's ``<param>`` values as
plain data. An action returns plain data (recorded with the session) or raises a
``CarusoError`` with one clear line.
"""
