from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        from patients import page_cache

        from . import aftercare, recall
        from .models import (
            Addendum,
            Consultation,
            ConsultationAnswer,
            Formulation,
            FormulationLine,
            Ingredient,
            InjectionZone,
            SessionCorrection,
            SessionLot,
            SessionRecord,
        )

        aftercare.register()
        recall.register()
        # What the patient page's clinical section shows (its cache, clinic/fragments.py).
        page_cache.track(Consultation)
        page_cache.track(ConsultationAnswer, "consultation.patient_id")
        page_cache.track(Addendum, "consultation.patient_id")
        page_cache.track(Formulation)
        page_cache.track(FormulationLine, "formulation.patient_id")
        page_cache.track(SessionRecord)
        page_cache.track(SessionLot, "session_record.patient_id")
        page_cache.track(InjectionZone, "session_record.patient_id")
        page_cache.track(SessionCorrection, "session_record.patient_id")
        page_cache.track_reference(Ingredient)
