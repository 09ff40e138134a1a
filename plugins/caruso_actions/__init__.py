"""caruso_actions: the built-in dialog actions of scripts (``email``, ``store``, ``call``,
``contact``), registered through the ``caruso.plugins`` entry point ``caruso_actions.plugin``
for the hook ``caruso_script_actions``.

Each follows the contract of dialog actions, :mod:`caruso_scripts.actions`:
``action(context, **params)`` with the engine's ``ActionContext``; it returns plain data
or raises a ``CarusoError`` with one clear line.

Public: none (the package is reached through its entry point only).
"""

PUBLIC_MODULES: tuple[str, ...] = ()
