"""Form posts in another character set than UTF-8 are refused with the styled 400 page.

Every page of ours is UTF-8 and so is every form a browser sends from it. A POST declaring another
charset (`charset=latin-1`, or one Python does not know) made Django raise while the CSRF check read
the form, and its error views read it again: a 500 for anyone, logged in or not. This middleware
answers before any view or check reads the body.
"""

from django.shortcuts import render
from django.utils.http import parse_header_parameters

UTF_8 = {"utf-8", "utf8"}
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def declares_another_charset(request) -> bool:
    content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    charset = params.get("charset")
    return content_type in FORM_TYPES and charset is not None and charset.strip().lower() not in UTF_8


class RefuseForeignCharsetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD", "OPTIONS") and declares_another_charset(request):
            return render(request, "400.html", status=400)
        return self.get_response(request)
