"""API for the caller's OpenPGP key: GET, PUT (upload or replace), DELETE /api/me/openpgp-key/."""

from __future__ import annotations

from typing import cast

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import MFAVerifiedSessionToChange
from .models import OpenPGPKey, User
from .openpgp import fingerprint_display, openpgp_key_remove, openpgp_key_set, openpgp_key_usable


class OpenPGPKeySerializer(serializers.ModelSerializer[OpenPGPKey]):
    fingerprint_display = serializers.SerializerMethodField(
        help_text="The fingerprint in groups of four, as people compare it."
    )
    user_ids = serializers.SerializerMethodField()
    usable = serializers.SerializerMethodField(
        help_text="Whether email is encrypted to it now (false once it has expired)."
    )

    class Meta:
        model = OpenPGPKey
        fields: tuple[str, ...] = (
            "fingerprint",
            "fingerprint_display",
            "user_ids",
            "expires_at",
            "usable",
            "armored",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_fingerprint_display(self, key: OpenPGPKey) -> str:
        return fingerprint_display(key.fingerprint)

    def get_user_ids(self, key: OpenPGPKey) -> list[str]:
        return key.user_ids.splitlines()

    def get_usable(self, key: OpenPGPKey) -> bool:
        return openpgp_key_usable(key, now=timezone.now())


class OpenPGPKeySetResultSerializer(OpenPGPKeySerializer):
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Accepted, but worth knowing (e.g. no user ID names your address).",
    )

    class Meta(OpenPGPKeySerializer.Meta):
        fields = (*OpenPGPKeySerializer.Meta.fields, "warnings")
        read_only_fields = fields


class OpenPGPKeyWriteSerializer(serializers.Serializer[object]):
    armored = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="One ASCII-armored public key (gpg --armor --export you@example.org), "
        "at most 64 KB, able to encrypt, neither expired nor revoked. Never a secret key.",
    )


NO_KEY = "You have no OpenPGP key."


class MyOpenPGPKeyView(APIView):
    """Your OpenPGP key: email to you is encrypted to it and signed with the site's key."""

    # Changing it needs an MFA-verified session (or a token).
    permission_classes = [IsAuthenticated, MFAVerifiedSessionToChange]

    @extend_schema(
        operation_id="me_openpgp_key_retrieve",
        responses={200: OpenPGPKeySerializer, 404: OpenApiResponse(description=NO_KEY)},
    )
    def get(self, request: Request) -> Response:
        key = OpenPGPKey.objects.filter(user=cast(User, request.user)).first()
        if key is None:
            raise NotFound(NO_KEY)
        return Response(OpenPGPKeySerializer(key).data)

    @extend_schema(
        operation_id="me_openpgp_key_update",
        request=OpenPGPKeyWriteSerializer,
        responses={
            200: OpenPGPKeySetResultSerializer,
            400: OpenApiResponse(description="The key was refused; `detail.armored` says why."),
        },
    )
    def put(self, request: Request) -> Response:
        user = cast(User, request.user)
        incoming = OpenPGPKeyWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        key, notes = openpgp_key_set(
            actor=user, user=user, armored=incoming.validated_data["armored"]
        )
        key.warnings = notes  # type: ignore[attr-defined]
        return Response(OpenPGPKeySetResultSerializer(key).data)

    @extend_schema(
        operation_id="me_openpgp_key_destroy",
        responses={204: None, 404: OpenApiResponse(description=NO_KEY)},
    )
    def delete(self, request: Request) -> Response:
        user = cast(User, request.user)
        if not openpgp_key_remove(actor=user, user=user):
            raise NotFound(NO_KEY)
        return Response(status=status.HTTP_204_NO_CONTENT)
