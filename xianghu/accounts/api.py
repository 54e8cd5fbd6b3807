"""`/api/v1/me`: who the caller is and in which roles."""

from django.http import HttpRequest
from ninja import Router, Schema

from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES

router = Router(tags=["accounts"])


class GrantOut(Schema):
    organisation_id: int
    organisation_kind: str
    role: str


class MeOut(Schema):
    user_id: int | None
    api_key_id: int | None
    display_name: str
    is_public: bool
    grants: list[GrantOut]


@router.get("/me", response={200: MeOut, **ERROR_RESPONSES})
def me(request: HttpRequest) -> MeOut:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    return MeOut(
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        display_name=actor.display_name,
        is_public=actor.is_public,
        grants=[
            GrantOut(
                organisation_id=g.organisation_id,
                organisation_kind=g.organisation_kind,
                role=g.role,
            )
            for g in actor.grants
        ],
    )
