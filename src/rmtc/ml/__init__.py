"""The image-to-image ML core (the ``ml`` extra): networks, data, training, conversion, inference.

Importing this package imports nothing heavy: :mod:`rmtc.ml.plugins` holds the light entry-point
factories and must stay loadable without torch. Import the sub-modules that do the work directly::

    from rmtc.ml.nets import NetConfig, build_model
    from rmtc.ml.train import Trainer
    from rmtc.ml.recipe import load_recipe

Layout (imports point down): ``plugins`` → ``convert`` / ``infer`` / ``train`` → ``checkpoint``,
``recipe``, ``data``, ``sheet``, ``losses`` → ``weights`` → ``nets`` → ``device``. Nothing here knows
about the metadata store; the services wire runs, weights and conversions to provenance.
"""
