"""The rights algebra: what one licence allows, for one right, in one context. Pure, no I/O.

The rights service composes these verdicts over the provenance graph (DESIGN.md, "Rights"): a right is
held on an artefact only if every licence on everything it is materially made of allows it, every raw
source is licensed at all, and every talent it depicts has an agreement that allows it.

A licence reads a right through its ``mode``: ``allow`` licences hold only what they grant, ``deny``
licences hold everything they do not exclude. A public licence named by SPDX id and listing no terms of
its own takes its terms from :mod:`rmtc.core.spdx`. Dates are inclusive; a revoked licence allows
nothing from its revocation date on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from rmtc.core import spdx
from rmtc.core.entities import License

BUILTIN_RIGHTS = ("training", "inference", "commercial", "derivatives")


@dataclass(frozen=True, slots=True)
class Context:
    """Where and when a use would happen."""

    at: date
    project: str | None = None
    jurisdiction: str | None = None


@dataclass(frozen=True, slots=True)
class Revocation:
    at: date
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Terms:
    grants: frozenset[str]
    excludes: frozenset[str]
    requires: tuple[str, ...]
    mode: str
    known: bool  # False: an SPDX id rmtc does not know, read as granting nothing


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str


def terms(lic: License) -> Terms:
    """A licence's effective terms: its own, or its SPDX id's when it lists none."""
    own = bool(lic.grants or lic.excludes or lic.mode == "deny")
    if lic.spdx_id and not own:
        found = spdx.lookup(lic.spdx_id)
        if found is None:
            return Terms(frozenset(), frozenset(), tuple(lic.requires), "allow", known=False)
        return Terms(
            frozenset(found.grants),
            frozenset(found.excludes),
            tuple(found.requires) + tuple(lic.requires),
            "allow",
            known=True,
        )
    return Terms(frozenset(lic.grants), frozenset(lic.excludes), tuple(lic.requires), lic.mode, known=True)


def evaluate(lic: License, right: str, ctx: Context, revoked: Revocation | None = None) -> Verdict:
    """Does ``lic`` allow ``right`` in ``ctx``? The reason names the licence and what decides it."""
    name = f"licence {lic.name!r}"
    if revoked is not None and ctx.at >= revoked.at:
        why = f": {revoked.reason}" if revoked.reason else ""
        return Verdict(False, f"{name} was revoked on {revoked.at.isoformat()}{why}")
    if lic.start is not None and ctx.at < lic.start:
        return Verdict(False, f"{name} only starts on {lic.start.isoformat()}")
    if lic.finish is not None and ctx.at > lic.finish:
        return Verdict(False, f"{name} expired on {lic.finish.isoformat()}")
    if lic.jurisdictions and ctx.jurisdiction is not None and ctx.jurisdiction not in lic.jurisdictions:
        return Verdict(
            False, f"{name} does not apply in {ctx.jurisdiction} (only {', '.join(lic.jurisdictions)})"
        )
    if lic.projects and ctx.project is not None and ctx.project not in lic.projects:
        return Verdict(False, f"{name} is limited to project(s) {', '.join(lic.projects)}")
    t = terms(lic)
    if not t.known:
        return Verdict(
            False, f"{name} has SPDX id {lic.spdx_id!r}, which rmtc does not know: it grants nothing"
        )
    if right in t.excludes:
        return Verdict(False, f"{name} excludes {right!r}")
    if t.mode == "deny":
        return Verdict(True, f"{name} does not exclude {right!r}")
    if right in t.grants:
        return Verdict(True, f"{name} grants {right!r}")
    return Verdict(False, f"{name} does not grant {right!r}")


def any_allows(
    licenses: Iterable[tuple[License, Revocation | None]], right: str, ctx: Context
) -> tuple[bool, list[Verdict]]:
    """Whether at least one of several alternative licences (a talent's agreements) allows ``right``."""
    verdicts = [evaluate(lic, right, ctx, rev) for lic, rev in licenses]
    return any(v.allowed for v in verdicts), verdicts
