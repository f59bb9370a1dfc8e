from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.utils import translation


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every HTML page needs a signed-in user unless marked @login_not_required. The API
    authenticates by token inside DRF and is default-deny there, so it is left to DRF."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class UserLanguageMiddleware:
    """A signed-in user reads every page in the language saved on their account (the language
    switch saves it); before signing in, the browser's language applies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
