"""The standard channels of the communication server, provided by
:mod:`caruso_comm.channels.plugin` through the hook ``caruso_channels`` like those of any
other plugin: ``webchat`` (HTTP), ``email`` (SMTP) and ``sim`` (simulated callers and
agents in real time; the discrete-event simulator on a virtual clock is
``caruso_comm.simulator``)."""
