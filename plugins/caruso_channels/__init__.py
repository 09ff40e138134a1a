"""Channels of the communication server: ``webchat`` (HTTP) and ``email`` (SMTP), provided
by :mod:`caruso_channels.plugin`. The ``sim`` channel lives in ``caruso_comm.simulator``."""
