"""caruso: assemble a CRM front office from components that find each other at run time.

The public API of the core:

- :func:`service` declares a class a service, :func:`remote` marks the methods clients
  call (see :mod:`caruso_core.contract`); :class:`HostContext` is what its host gives it;
- :func:`connect` returns a :class:`~caruso_core.client.Client` of the service manager;
- :data:`hookimpl` marks plugin functions (see :mod:`caruso_core.hookspecs`);
- the errors of :mod:`caruso_core.errors`.
"""
__version__ = "0.1.0"

from caruso_core.contract import ServiceSpec, remote, service
from caruso_core.context import HostContext
from caruso_core.errors import (CallInterrupted, CallTimedOut, CarusoError, ConfigError, Conflict,
                                InvalidInput, ManagerUnreachable, NoInstance, NotAuthorized, NotFound,
                                NotLeader, ServiceMoved, SwapFailed, Unavailable)
from caruso_core.hookspecs import hookimpl
from caruso_core.client import Client, connect

__all__ = ["service", "remote", "HostContext", "ServiceSpec", "connect", "Client", "hookimpl", "CarusoError",
           "ConfigError", "Conflict", "InvalidInput", "NotFound", "NotAuthorized", "ManagerUnreachable",
           "NotLeader", "NoInstance", "ServiceMoved", "CallInterrupted", "CallTimedOut", "SwapFailed", "Unavailable",
           "__version__"]
