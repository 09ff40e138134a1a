"""The status monitor: the live picture of a contact centre, from the event log.

:mod:`caruso_monitor.picture` is the state machine (events in, picture out);
:mod:`caruso_monitor.feed` reads the table ``comm_events`` by id (the communication server's
published :mod:`caruso_comm.events`, the one module of it the monitor imports); the service
``caruso.monitor/1`` keeps the picture current for subscribers; ``caruso monitor``
shows it as a terminal wallboard.
"""
