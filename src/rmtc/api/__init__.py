"""The Tracker facade and the composition root that builds it (:func:`rmtc.api.open.open_tracker`)."""
