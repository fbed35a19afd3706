"""Thin views over photos/services.py and selectors.py. Access is decided by the table in access.py;
every photo and thumbnail is served here, after the role check, with its read logged (clinical-rules.md,
rule `photos-private`)."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from clinic.access import is_allowed
from clinic.audit import log_clinical_read
from clinic.errors import Refusal, show_refusal
from patients.models import Patient
from treatments.models import SessionRecord

from . import selectors, services
from .forms import PhotoUploadForm, ReleaseForm
from .models import ClinicalPhoto, Moment, PhotoArea


def photo_cards(photos) -> list[dict]:
    """What a thumbnail grid shows of each photo, built in Python: a timeline holds up to 200, and a
    template `{% url %}` and date filter per photo cost more than the page's whole budget."""
    thumb = reverse("photos:image", args=[0, "thumb"]).replace("/0/", "/{}/")
    full = reverse("photos:image", args=[0, "full"]).replace("/0/", "/{}/")
    areas, moments = dict(PhotoArea.choices), dict(Moment.choices)
    cards = []
    for photo in photos:
        day = timezone.localtime(photo.session_at).strftime("%d/%m/%Y")
        moment = moments[photo.moment]
        cards.append(
            {
                "thumb_url": thumb.format(photo.pk),
                "full_url": full.format(photo.pk),
                "caption": f"{day} · {moment}",
                "area": areas[photo.area],
                "alt": f"{areas[photo.area]}, {moment.lower()} the session of {day}",
            }
        )
    return cards


def _area(area: str) -> tuple[str, str]:
    labels = dict(PhotoArea.choices)
    if area not in labels:
        raise Http404("No such area.")
    return area, labels[area]


def patient_photos(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    state = selectors.photo_state(patient.pk)
    return render(
        request,
        "photos/patient.html",
        {
            "patient": patient,
            "state": state,
            "areas": selectors.area_counts(patient.pk),
            "can_release": state.hidden and is_allowed(request.user, "photos:release", "POST"),
        },
    )


def release(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_photos(patient=patient, by=request.user, reason=form.cleaned_data["reason"])
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, "The hidden photos are shown again; your reason is recorded.")
            return redirect("photos:patient", patient_id=patient.pk)
    return render(request, "photos/release.html", {"patient": patient, "form": form})


def timeline(request, patient_id: int, area: str):
    patient = get_object_or_404(Patient, pk=patient_id)
    area, label = _area(area)
    state = selectors.photo_state(patient.pk)
    photos = [] if state.hidden else selectors.area_timeline(patient.pk, area)
    if photos:
        log_clinical_read(request, patient=patient, what="photos")
    return render(
        request,
        "photos/timeline.html",
        {"patient": patient, "area": area, "label": label, "state": state, "photos": photo_cards(photos)},
    )


def compare(request, patient_id: int, area: str):
    patient = get_object_or_404(Patient, pk=patient_id)
    area, label = _area(area)
    state = selectors.photo_state(patient.pk)
    before, after = (None, None) if state.hidden else selectors.compare(patient.pk, area)
    if before or after:
        log_clinical_read(request, patient=patient, what="photos")
    return render(
        request,
        "photos/compare.html",
        {"patient": patient, "area": area, "label": label, "state": state, "before": before, "after": after},
    )


def session_photos(request, pk: int):
    record = get_object_or_404(SessionRecord.objects.select_related("patient"), pk=pk)
    patient = record.patient
    can_write = is_allowed(request.user, "photos:session", "POST")
    form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            photo = services.upload_photo(
                session_record=record,
                by=request.user,
                area=form.cleaned_data["area"],
                moment=form.cleaned_data["moment"],
                upload=form.cleaned_data["image"],
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            messages.success(request, f"Photo saved: {photo}.")
            return redirect("photos:session", pk=record.pk)
    state = selectors.photo_state(patient.pk)
    return render(
        request,
        "photos/session.html",
        {
            "record": record,
            "patient": patient,
            "form": form,
            "state": state,
            "photos": [] if state.hidden else photo_cards(selectors.session_photos(record.pk)),
            "can_write": can_write,
            "allowed": selectors.photos_allowed(patient.pk),
        },
    )


@never_cache
def image(request, pk: int, size: str):
    """One photo or its thumbnail, never cached by a browser or proxy; hidden photos are not served."""
    if size not in ("full", "thumb"):
        raise Http404("No such size.")
    photo = get_object_or_404(ClinicalPhoto.objects.select_related("patient"), pk=pk)
    if selectors.photos_hidden(photo.patient_id):
        raise Http404("This photo is hidden: the patient withdrew their photo consent.")
    log_clinical_read(request, patient=photo.patient, what="photo", obj=photo)
    field = photo.image if size == "full" else photo.thumbnail
    response = FileResponse(field.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response
