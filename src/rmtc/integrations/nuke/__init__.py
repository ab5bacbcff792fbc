"""rmtc in Nuke: export a published model for the Inference node, and record renders back.

::

    templates  the text of the files an export writes (CatFileCreator script, .nk snippet, menu.py)
    export     `rmtc nuke export`: writes them, with the validated TorchScript
    renders    plain functions: find Inference nodes, check rights, record a render as an Inference
    callbacks  the only module that talks to the `nuke` module: render callbacks and the rmtc menu

Nothing here imports Nuke at import time, so all of it runs (and is tested) outside Nuke.
"""
