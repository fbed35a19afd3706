"""The printable copy of a signed consent, as HTML (the print page) and as a PDF (WeasyPrint), with
both signatures embedded as data: URLs read through the storage API."""

import base64
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from clinic.models import ClinicSettings

from .models import PatientConsent


def signature_data_url(field) -> str:
    with field.open("rb") as handle:
        return "data:image/png;base64," + base64.b64encode(handle.read()).decode("ascii")


def consent_context(consent: PatientConsent) -> dict:
    return {
        "consent": consent,
        "clinic": ClinicSettings.load(),
        "patient_signature": signature_data_url(consent.patient_signature),
        "practitioner_signature": signature_data_url(consent.practitioner_signature),
    }


def consent_pdf(consent: PatientConsent) -> bytes:
    """The PDF copy. WeasyPrint may fetch nothing but the embedded data: URLs (no file, no network)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    css = Path(finders.find("css/consent_print.css")).read_text()
    html = render_to_string("consents/consent_print.html", {**consent_context(consent), "inline_css": css})
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


def pdf_filename(consent: PatientConsent) -> str:
    return f"consent-{consent.patient.chart_number}-{consent.signed_at:%Y%m%d}.pdf"
