from django.http import HttpRequest

from catalog.roles import is_associate, is_supervisor


def roles(request: HttpRequest) -> dict:
    user = request.user
    return {
        "is_associate": is_associate(user),
        "is_supervisor": is_supervisor(user),
    }
