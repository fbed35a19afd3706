"""The clinical alert of the patient header (templates/treatments/_patient_header.html): allergies and
contraindications answered "yes", on every clinical page (rule `allergy-single-source`)."""

from django import template

from patients.models import Answer, Screening

register = template.Library()


@register.inclusion_tag("treatments/_clinical_alert.html")
def clinical_alert(patient):
    """Two queries: the screening with its allergen groups, and its "yes" answers."""
    screening = Screening.objects.filter(patient=patient).prefetch_related("allergen_groups").first()
    if screening is None:
        return {"allergies": [], "allergy_notes": "", "yes": []}
    yes = [row.get_item_display() for row in screening.answers.filter(answer=Answer.YES).order_by("item")]
    return {
        "allergies": [group.name for group in screening.allergen_groups.all()],
        "allergy_notes": screening.allergy_notes.strip(),
        "yes": yes,
    }
