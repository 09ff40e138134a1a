"""The standard dialer of campaigns, ``sim`` (the simulated telephone network), provided by
:mod:`caruso_comm.dialers.plugin` through the hook ``caruso_dialers`` like any other."""
