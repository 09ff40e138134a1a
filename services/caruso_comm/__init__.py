"""caruso_comm: the communication server. Its ACD routes interactions to agents by queue,
skills and a routing strategy; channels feed it interactions; campaigns dial out; every
change is an event of the append-only event log. See docs/communication.md.

Public: ``caruso_comm.events`` (the event log's published data contract: table, ``Event``,
event names and fields, schema version; the status monitor and reports read the log
through it), the contracts plugins implement, ``caruso_comm.routing`` (routing
strategies), ``caruso_comm.channel`` (channels) and ``caruso_comm.dialer`` (dialers, e.g.
a telephony component's), and ``caruso_comm.contract`` (the interface's contract suite).
Other components import nothing else of this package; they call ``caruso.comm/1``.

Internal modules: ``service`` (the facade), ``delegation``, ``serial`` (the lock and the
timer thread), ``handover`` (the hand-over state machine), ``recovery`` and ``restart``
(cold starts), ``desk`` (operations on agents, interactions, queues, voicemail),
``peers`` (the services it calls), ``model``, ``acd``, ``pool``, ``heaps``, ``timers``,
``eventlog``, ``feed``, ``stats``, ``simulator``, ``campaign``, ``outbound``,
``voicemail``, ``ivr``, ``history``, ``records``, ``plugin``, ``hookspecs``, ``cli``; the
standard plugins ``strategies``, ``channels`` and ``dialers``, registered like any other.
"""

PUBLIC_MODULES = ("caruso_comm.events", "caruso_comm.routing", "caruso_comm.channel", "caruso_comm.dialer",
                  "caruso_comm.contract")
