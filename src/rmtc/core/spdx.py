"""What public licences permit, in rmtc's rights vocabulary.

Each entry maps an SPDX id to the rights it grants and excludes and the obligations it imposes. The
readings are deliberately conservative where the law is unsettled: a "no derivatives" licence is read as
excluding training (a model trained on a work is arguably an adaptation of it), and a non-commercial
licence excludes ``commercial``. An id not in this table is treated by the caller as a custom licence
that grants nothing (and warned about), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = ("training", "inference", "commercial", "derivatives")


@dataclass(frozen=True, slots=True)
class SpdxTerms:
    spdx_id: str
    grants: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    name: str = ""


def _cc(v: str) -> list[SpdxTerms]:
    """The six Creative Commons licences of one version."""
    nc = ("training", "inference", "derivatives")
    return [
        SpdxTerms(f"CC-BY-{v}", ALL, (), ("attribution",), f"Creative Commons Attribution {v}"),
        SpdxTerms(f"CC-BY-SA-{v}", ALL, (), ("attribution", "share-alike"), f"CC Attribution-ShareAlike {v}"),
        SpdxTerms(f"CC-BY-NC-{v}", nc, ("commercial",), ("attribution",), f"CC BY-NonCommercial {v}"),
        SpdxTerms(
            f"CC-BY-ND-{v}",
            ("inference", "commercial"),
            ("derivatives", "training"),
            ("attribution",),
            f"CC Attribution-NoDerivatives {v}",
        ),
        SpdxTerms(
            f"CC-BY-NC-SA-{v}",
            nc,
            ("commercial",),
            ("attribution", "share-alike"),
            f"CC Attribution-NonCommercial-ShareAlike {v}",
        ),
        SpdxTerms(
            f"CC-BY-NC-ND-{v}",
            ("inference",),
            ("commercial", "derivatives", "training"),
            ("attribution",),
            f"CC Attribution-NonCommercial-NoDerivatives {v}",
        ),
    ]


_TABLE: list[SpdxTerms] = [
    SpdxTerms("CC0-1.0", ALL, (), (), "Creative Commons Zero 1.0"),
    *_cc("4.0"),
    *_cc("3.0"),
    SpdxTerms("Apache-2.0", ALL, (), ("attribution", "notice"), "Apache License 2.0"),
    SpdxTerms("MIT", ALL, (), ("attribution", "notice"), "MIT License"),
    SpdxTerms("BSD-2-Clause", ALL, (), ("attribution", "notice"), "BSD 2-Clause License"),
    SpdxTerms("BSD-3-Clause", ALL, (), ("attribution", "notice"), "BSD 3-Clause License"),
    SpdxTerms("Unlicense", ALL, (), (), "The Unlicense"),
    SpdxTerms("LicenseRef-Proprietary", (), (), (), "Proprietary: all rights reserved"),
    SpdxTerms("LicenseRef-All-Rights-Reserved", (), (), (), "All rights reserved"),
]

KNOWN: dict[str, SpdxTerms] = {t.spdx_id.lower(): t for t in _TABLE}
KNOWN["proprietary"] = KNOWN["licenseref-proprietary"]
KNOWN["all-rights-reserved"] = KNOWN["licenseref-all-rights-reserved"]


def lookup(spdx_id: str) -> SpdxTerms | None:
    """The terms of a public licence by SPDX id (case-insensitive), or ``None`` when unknown."""
    return KNOWN.get(spdx_id.strip().lower())
