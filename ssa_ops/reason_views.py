"""The reason catalog as ops leads manage it, and as the API lists it."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated

from ssa_ops.api_request import text_param
from ssa_ops.models import Reason
from ssa_ops.reasons import reason_create, reason_kind_choices, reason_list, reason_update
from ssa_ops.sorting import Sorting

REASON_SORTING = Sorting(
    {"code": ("code",), "label": ("label_zh",), "active": ("is_active",)}, default="code"
)


class ReasonForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=50)
    label_zh = forms.CharField(label=gettext_lazy("Chinese label"), max_length=200)
    label_en = forms.CharField(label=gettext_lazy("English label"), max_length=200)
    applies_to = forms.MultipleChoiceField(
        label=gettext_lazy("Applies to"), widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["applies_to"].choices = reason_kind_choices()
        if editing:
            self.fields["code"].disabled = True


@permission_required("ssa_ops.manage_reason", raise_exception=True)
def reason_index(request):
    kind = request.GET.get("kind", "")
    reasons = reason_list(kind=kind if kind in dict(reason_kind_choices()) else "")
    reasons, sort = REASON_SORTING.apply(reasons, request.GET.get("sort", ""))
    kinds = dict(reason_kind_choices())
    return render(
        request,
        "ssa_ops/reason_list.html",
        {
            "reasons": [
                (reason, [kinds.get(k, k) for k in reason.applies_to]) for reason in reasons
            ],
            "kinds": reason_kind_choices(),
            "kind": kind,
            "sort": sort,
        },
    )


def _apply_errors(form, error: ValidationError):
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


@permission_required("ssa_ops.manage_reason", raise_exception=True)
def reason_edit(request, pk=None):
    reason = get_object_or_404(Reason, pk=pk) if pk else None
    initial = (
        {
            "code": reason.code,
            "label_zh": reason.label_zh,
            "label_en": reason.label_en,
            "applies_to": reason.applies_to,
            "is_active": reason.is_active,
        }
        if reason
        else None
    )
    form = ReasonForm(request.POST or None, initial=initial, editing=reason is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if reason:
                reason_update(
                    actor=request.user,
                    pk=reason.pk,
                    label_zh=data["label_zh"],
                    label_en=data["label_en"],
                    applies_to=data["applies_to"],
                    is_active=data["is_active"],
                )
            else:
                reason_create(actor=request.user, **data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Reason saved."))
            return redirect("reasons")
    return render(request, "ssa_ops/reason_form.html", {"form": form, "reason": reason})


class ReasonSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Reason
        fields = ["code", "label", "label_zh", "label_en", "applies_to", "is_active"]


class ReasonListApi(ListAPIView):
    """The reason catalog: codes to send with resets and rejects (`?kind=app_label.model`)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReasonSerializer
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="Only reasons for this kind of record"),
            OpenApiParameter("active", bool, description="Only active reasons"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return reason_list(
            kind=text_param(self.request, "kind", max_length=100),
            active_only=self.request.query_params.get("active", "").lower() in ("1", "true"),
        )
