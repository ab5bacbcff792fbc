"""Provenance and rights reports for legal and production: ``rmtc report REF --format html|md|json``."""

from rmtc.services.report.build import Report, build_report
from rmtc.services.report.render import render

__all__ = ["Report", "build_report", "render"]
