"""caruso_telephony: the telephony component ``caruso.telephony/1``. It holds the SIP
dialogs (sippy) and the media sessions (rtpengine, driven over its ng control protocol)
of every call, speaks prompts with espeak-ng, and reports what happens on a call as
events; the communication server's ``voice`` channel drives it. See docs/telephony.md.
"""

PUBLIC_MODULES = ()
