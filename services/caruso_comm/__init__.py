"""caruso_comm: the communication server. Its ACD routes interactions to agents by queue,
skills and a routing strategy; channels (the simulator first) feed it interactions; every
change is an event of the append-only event log. See docs/communication.md."""
