from django import forms

from .models import Moment, PhotoArea


class PhotoUploadForm(forms.Form):
    area = forms.ChoiceField(choices=PhotoArea.choices)
    moment = forms.ChoiceField(choices=Moment.choices, widget=forms.RadioSelect, label="Taken")
    # `capture` opens the camera on a phone or tablet; a file can still be chosen elsewhere.
    image = forms.FileField(
        label="Photo",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class ReleaseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
