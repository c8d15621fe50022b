from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    """Vietnamese unless the user chose English with the language switch.

    Django's LocaleMiddleware would follow the browser's Accept-Language, and
    many phones and office computers here run an English browser: the district
    wants the registry in Vietnamese by default, English one click away. The
    choice is the set-language view's cookie.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreMiddleware:
    """Every response the registry's own code makes is `Cache-Control: no-store, private`.

    Pages and downloads show members' personal data, and a shared office PC's
    browser (or a proxy) must not keep a copy for the next person. The honest
    rule is the simple one: every response that comes through Django, whoever
    asked, replaces any caching header a view set. Static files are untouched:
    WhiteNoise, earlier in MIDDLEWARE, answers them before this runs. It reads
    nothing from the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.pop("Cache-Control", None)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response
