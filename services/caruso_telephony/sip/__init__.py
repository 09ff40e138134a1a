"""The SIP side of the telephony component, on sippy: the stack in its own thread
(``stack``), what reaches it (``screening``, ``message``, ``sdp``), the TCP transport
sippy lacks (``tcp``), the registrar (``registrar``), session timers (``sessiontimer``),
dialogs (``dialogs``), out-of-dialog requests (``router``), the trunk (``trunk``) and the
relay of new dialogs while an instance drains (``relay``).
"""
