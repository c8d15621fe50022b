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


class SiteErrorPagesMiddleware:
    """Under DEBUG (`make run`) a missing or refused record is the registry's own 404,
    as in production, not Django's technical page: that page is in English, lists
    every URL of the site, and is not what a user trying the demo should meet.
    TECHNICAL_ERRORS=1 brings Django's page back for a developer. (A 403 is always
    the site's; a 500 under DEBUG stays Django's traceback.)

    Django turns an Http404 into its technical page itself whenever DEBUG is on,
    before any middleware sees a response, so the 404 is answered here: an address
    no URL matches before the view runs, and an Http404 a view raises in
    process_exception. CommonMiddleware, earlier, still adds a missing slash to a
    404's address. With DEBUG off this does nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _active() -> bool:
        return settings.DEBUG and not settings.TECHNICAL_ERRORS

    def __call__(self, request):
        if self._active():
            from django.urls import Resolver404, get_resolver

            try:
                get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
            except Resolver404 as exc:
                return self._not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.http import Http404

        if self._active() and isinstance(exception, Http404):
            return self._not_found(request, exception)
        return None

    @staticmethod
    def _not_found(request, exception):
        from django.urls import get_resolver

        view = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(404)
        return view(request, exception)
