"""The standard ACD routing strategies, one small module each, provided by
:mod:`caruso_comm.strategies.plugin` through the hook ``caruso_routing_strategies`` like
those of any other plugin."""
