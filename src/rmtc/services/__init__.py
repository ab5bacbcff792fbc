"""Services: the nouns of the tracking layer, each built on a :class:`~rmtc.api.tracker.Tracker`."""
