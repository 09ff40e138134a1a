"""Channels of the communication server, provided by :mod:`caruso_channels.plugin`:
``webchat`` (HTTP), ``email`` (SMTP) and ``sim`` (simulated callers and agents in real
time; the discrete-event simulator on a virtual clock is ``caruso_comm.simulator``)."""
