"""The consent rules (docs/clinical-rules.md): `consent-before-session`, `consent-version-frozen`."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from clinic.errors import Refusal
from clinic.models import ClinicSettings
from consents import selectors, services
from consents.demo import drawn_signature
from consents.models import ConsentTemplate, PatientConsent, text_hash
from consents.tests.factories import signed_consent
from treatments import services as treatment_services
from treatments.tests import factories

pytestmark = pytest.mark.django_db
ONE_DAY = datetime.timedelta(days=1)


def _formulation_without_consent(practitioner):
    consultation = factories.signed_consultation(practitioner, consent=False)
    return factories.formulation(practitioner, consultation=consultation)


def _session_fields(**extra):
    return {
        "areas": ["face"],
        "technique": "needle",
        "needle_gauge": "32G",
        "volume_ml": Decimal("3"),
        **extra,
    }


def test_the_seeded_wording_names_the_risks_and_the_course():
    template = selectors.current_template()
    assert template.version == 1
    for word in ("several sessions", "gradual", "redness", "swelling", "bruis", "infection", "allergic",
                 "nodules", "pigmentation"):  # fmt: skip
        assert word in template.text.lower()
    assert len(template.statement_list) >= 4


def test_a_session_cannot_be_recorded_without_a_signed_consent(practitioner):
    formulation = _formulation_without_consent(practitioner)
    with pytest.raises(Refusal, match="has not signed the treatment consent"):
        treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())


def test_a_session_is_recorded_with_a_valid_consent(practitioner):
    formulation = _formulation_without_consent(practitioner)
    signed_consent(formulation.patient, practitioner, days_ago=1)
    record = treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())
    assert record.pk


def test_a_withdrawn_consent_stops_recording_and_marking_done(practitioner):
    formulation = _formulation_without_consent(practitioner)
    consent = signed_consent(formulation.patient, practitioner, days_ago=1)
    record = treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())
    services.withdraw_consent(consent=consent, by=practitioner, reason="Changed her mind.")
    consent.refresh_from_db()
    assert consent.withdrawn_at and consent.withdrawn_reason == "Changed her mind."
    with pytest.raises(Refusal, match="withdrew the treatment consent"):
        treatment_services.mark_session_done(session_record=record, by=practitioner)
    with pytest.raises(Refusal, match="withdrew"):
        treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())


def test_a_withdrawal_needs_its_reason(practitioner):
    consent = signed_consent(factories.patient(), practitioner)
    with pytest.raises(Refusal, match="reason"):
        services.withdraw_consent(consent=consent, by=practitioner, reason="  ")


def test_a_consent_older_than_the_clinics_validity_has_expired(practitioner):
    formulation = _formulation_without_consent(practitioner)
    signed_consent(formulation.patient, practitioner, days_ago=370)
    with pytest.raises(Refusal, match="it has expired"):
        treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())
    settings_row = ClinicSettings.load()
    settings_row.consent_validity_months = 24
    settings_row.save()
    assert treatment_services.record_session(formulation=formulation, by=practitioner, **_session_fields())


def test_validity_counts_calendar_months(practitioner):
    patient = factories.patient()
    consent = signed_consent(patient, practitioner, days_ago=0)
    signed_day = timezone.localdate(consent.signed_at)
    last = selectors.expires_on(consent)
    assert selectors.valid_consent(patient.pk, last) == consent
    assert selectors.valid_consent(patient.pk, last + ONE_DAY) is None
    assert selectors.valid_consent(patient.pk, signed_day - ONE_DAY) is None


@pytest.mark.parametrize("months", [1, 12])
@pytest.mark.parametrize(
    "signed_day", [datetime.date(2026, 3, 10), datetime.date(2026, 1, 31), datetime.date(2028, 2, 29)]
)
def test_valid_until_is_the_last_day_a_session_may_use_the_consent(practitioner, months, signed_day):
    """The date pages show as "valid until" is the last day `check_consent` accepts (it was the day
    after: a session on the day shown was refused), month ends included."""
    ClinicSettings.objects.filter(pk=1).update(consent_validity_months=months)
    patient = factories.patient()
    noon = timezone.make_aware(datetime.datetime.combine(signed_day, datetime.time(12)))
    consent = signed_consent(patient, practitioner, on=noon)
    last = selectors.expires_on(consent)
    assert selectors.valid_consent(patient.pk, last) == consent
    assert selectors.valid_consent(patient.pk, last + ONE_DAY) is None
    services.check_consent(patient.pk, last)
    with pytest.raises(Refusal, match="it has expired"):
        services.check_consent(patient.pk, last + ONE_DAY)
    assert selectors.valid_until(patient.pk, signed_day) == last
    assert selectors.valid_until(patient.pk, last + ONE_DAY) is None
    assert selectors.valid_until(factories.patient().pk, signed_day) is None


def test_a_session_dated_before_the_signature_is_refused(practitioner):
    formulation = _formulation_without_consent(practitioner)
    signed_consent(formulation.patient, practitioner, days_ago=0)
    with pytest.raises(Refusal, match="after this session"):
        treatment_services.record_session(
            formulation=formulation,
            by=practitioner,
            **_session_fields(performed_at=timezone.now() - datetime.timedelta(days=3)),
        )


def test_signing_stores_the_version_the_exact_text_and_both_signatures(practitioner):
    patient = factories.patient()
    template = selectors.current_template()
    consent = services.sign_consent(
        patient=patient,
        template=template,
        by=practitioner,
        patient_name="  Ana Example ",
        statements_ticked=len(template.statement_list),
        patient_signature=drawn_signature("ana"),
        practitioner_signature=drawn_signature("ines"),
        photos_clinical=True,
        photos_marketing=False,
        photos_research=True,
        device="Mozilla/5.0 (iPad)",
    )
    consent.refresh_from_db()
    assert consent.template_version == template.version
    assert consent.text_shown == template.wording() and consent.text_sha256 == text_hash(template.wording())
    assert consent.patient_name == "Ana Example" and consent.practitioner_name == "Inês Moura"
    assert consent.device == "Mozilla/5.0 (iPad)"
    assert (consent.photos_clinical, consent.photos_marketing, consent.photos_research) == (True, False, True)
    with consent.patient_signature.open("rb") as handle:
        assert Image.open(handle).format == "PNG"


@pytest.mark.parametrize(
    "signature, message",
    [
        ("", "has not signed yet"),
        ("data:image/png;base64,!!!", "could not be read"),
        ("data:image/png;base64,aGVsbG8=", "could not be read"),
        ("blank", "box is empty"),
    ],
)
def test_a_missing_empty_or_broken_signature_is_refused(practitioner, signature, message):
    if signature == "blank":
        out = io.BytesIO()
        Image.new("RGBA", (100, 50), (0, 0, 0, 0)).save(out, format="PNG")
        import base64

        signature = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    template = selectors.current_template()
    with pytest.raises(Refusal, match=message):
        services.sign_consent(
            patient=factories.patient(),
            template=template,
            by=practitioner,
            patient_name="Ana",
            statements_ticked=len(template.statement_list),
            patient_signature=signature,
            practitioner_signature=drawn_signature(),
            photos_clinical=True,
            photos_marketing=False,
            photos_research=False,
        )
    assert not PatientConsent.objects.exists()


def test_every_statement_must_be_ticked(practitioner):
    template = selectors.current_template()
    with pytest.raises(Refusal, match="tick every statement"):
        services.sign_consent(
            patient=factories.patient(),
            template=template,
            by=practitioner,
            patient_name="Ana",
            statements_ticked=len(template.statement_list) - 1,
            patient_signature=drawn_signature(),
            practitioner_signature=drawn_signature(),
            photos_clinical=True,
            photos_marketing=False,
            photos_research=False,
        )


def test_a_new_wording_is_a_new_version_and_the_signed_one_never_changes(practitioner, clinic_admin):
    consent = signed_consent(factories.patient(), practitioner)
    old = consent.template
    new = services.publish_consent_template(
        by=clinic_admin, title=old.title, text=old.text + "\nOne more line.", statements=old.statements
    )
    assert new.version == old.version + 1 and selectors.current_template() == new
    old.text = "Rewritten"
    with pytest.raises(Refusal, match="has been signed and cannot change"):
        old.save()
    # The database refuses too, whatever writes to the table.
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        ConsentTemplate.objects.filter(pk=old.pk).update(text="Rewritten")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        PatientConsent.objects.filter(pk=consent.pk).update(text_shown="Something else")
    with pytest.raises(Refusal, match="already"):
        services.publish_consent_template(
            by=clinic_admin, title=new.title, text=new.text, statements=new.statements
        )


def test_signing_an_outdated_version_is_refused(practitioner, clinic_admin):
    old = selectors.current_template()
    services.publish_consent_template(
        by=clinic_admin, title=old.title, text=old.text + " More.", statements="I agree."
    )
    with pytest.raises(Refusal, match="wording changed"):
        services.sign_consent(
            patient=factories.patient(),
            template=old,
            by=practitioner,
            patient_name="Ana",
            statements_ticked=len(old.statement_list),
            patient_signature=drawn_signature(),
            practitioner_signature=drawn_signature(),
            photos_clinical=True,
            photos_marketing=False,
            photos_research=False,
        )


def test_consent_status_is_one_query_for_any_number_of_patients(practitioner, django_assert_max_num_queries):
    patients = [factories.patient() for _ in range(5)]
    signed_consent(patients[0], practitioner)
    with django_assert_max_num_queries(2):
        status = selectors.consent_status([p.pk for p in patients])
    assert status[patients[0].pk] is True and status[patients[1].pk] is False


def test_the_pdf_copy_is_e_mailed_once_with_the_pdf_and_no_photo(practitioner, smtp_server):
    from outbox.services import dispatch_due

    patient = factories.patient()
    consent = signed_consent(patient, practitioner)
    with transaction.atomic():
        services.email_consent_copy(consent=consent, by=practitioner)
    dispatch_due()
    [message] = smtp_server.messages
    assert message["To"] == patient.email
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_content().startswith(b"%PDF")
    with pytest.raises(Refusal, match="already e-mailed"):
        services.email_consent_copy(consent=consent, by=practitioner)
