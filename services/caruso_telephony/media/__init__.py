"""The media layer of the telephony component: every call's media in an rtpengine of its own.

:class:`Media` (``control``) is what the SIP layer calls: offer and answer SDP, prompts,
blocking, DTMF, recordings, statistics, RTP timeouts; :class:`MediaSettings`
(``settings``) configures it. Inside: ``engine`` runs the rtpengine child process,
``ng`` speaks its control protocol, ``dtmf`` and ``teardown`` are the listeners for
what rtpengine reports (key presses, calls it ended for lack of media), ``notifier``
delivers those reports from a thread of its own. Recordings are converted by
:mod:`caruso_telephony.recordings`, ng messages encoded by :mod:`caruso_telephony.bencode`.
"""
from caruso_telephony.media.control import Media
from caruso_telephony.media.ng import MediaRefused
from caruso_telephony.media.settings import MediaSettings

__all__ = ["Media", "MediaRefused", "MediaSettings"]
