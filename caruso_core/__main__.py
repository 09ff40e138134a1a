"""``python -m caruso_core`` is the ``caruso`` command."""
from caruso_core.cli import main

main()
