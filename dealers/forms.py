from django import forms
from django.utils.translation import gettext_lazy as _

from dealers.models import Dealer, DealerChangeRequest, DealerContact, DealerGroup, Region


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class DealerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Code, name, legal entity or credit code")}),
    )
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("All regions"),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Dealer.Status.choices]
    )
    group = forms.ModelChoiceField(
        label=_("Dealer group"),
        queryset=DealerGroup.objects.all(),
        required=False,
        empty_label=_("All groups"),
    )

    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions

    def filters(self) -> dict:
        """The selector's filters; an invalid filter is left out (the form shows why)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q", ""),
            "region": data.get("region"),
            "status": data.get("status", ""),
            "group": data.get("group"),
        }

    def export_params(self) -> dict:
        """The filters as a job's JSON parameters, so an export writes what the list shows."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": data.get("q", ""),
            "region": data["region"].pk if data.get("region") else None,
            "status": data.get("status", ""),
            "group": data["group"].pk if data.get("group") else None,
            "sort": data.get("sort", ""),
        }


class ChangeRequestFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Number, dealer code or name")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("All regions"),
    )
    applied_failed = forms.BooleanField(label=_("Not applied only"), required=False)

    def __init__(self, *args, regions, queue, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        statuses = DealerChangeRequest.Status.choices
        if queue:
            statuses = [(v, label) for v, label in statuses if v in DealerChangeRequest.OPEN_STATES]
        self.fields["status"].choices = [("", _("All statuses")), *statuses]

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q", ""),
            "status": data.get("status", ""),
            "region": data.get("region"),
            "apply_failed": bool(data.get("applied_failed")),
        }


class ChangeRequestForm(forms.Form):
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    legal_entity = forms.CharField(label=_("Legal entity"), max_length=200)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    group = forms.ModelChoiceField(
        label=_("Dealer group"),
        queryset=DealerGroup.objects.all(),
        required=False,
        to_field_name="code",
    )
    status = forms.ChoiceField(label=_("Status"), choices=Dealer.Status.choices)
    note = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Why the change is needed; ops read this when deciding."),
    )
    documents = MultipleFileField(
        label=_("Supporting documents"),
        required=False,
        help_text=_("e.g. the new business licence; PDF, OFD, JPEG, PNG, HEIC or TIFF."),
    )

    @classmethod
    def initial_for(cls, dealer: Dealer) -> dict:
        return {
            "name_zh": dealer.name_zh,
            "name_en": dealer.name_en,
            "legal_entity": dealer.legal_entity,
            "credit_code": dealer.credit_code,
            "address": dealer.address,
            "group": dealer.change_value("group") or None,
            "status": dealer.status,
        }

    def dealer_values(self) -> dict:
        values = {
            key: self.cleaned_data[key]
            for key in ("name_zh", "name_en", "legal_entity", "credit_code", "address", "status")
        }
        values["group"] = self.cleaned_data["group"].code if self.cleaned_data["group"] else ""
        return values


class ContactForm(forms.Form):
    contact_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=DealerContact.Role.choices)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


ContactFormSet = forms.formset_factory(ContactForm, extra=1, can_delete=True)


def contact_formset_initial(dealer: Dealer) -> list[dict]:
    return [
        {
            "contact_id": c.pk,
            "role": c.role,
            "name": c.name,
            "phone": c.phone,
            "email": c.email,
            "is_primary": c.is_primary,
        }
        for c in dealer.contacts.all()
    ]


def contact_changes_from(formset) -> tuple[list[dict], list[int]]:
    """The contact changes a formset asks for, and for each the index of its form."""
    changes, form_index = [], []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not data:
            continue
        contact_id = data.get("contact_id")
        values = {key: data.get(key) for key in ("role", "name", "phone", "email", "is_primary")}
        if contact_id and data.get("DELETE"):
            changes.append({"action": "remove", "contact_id": contact_id})
        elif contact_id:
            changes.append({"action": "update", "contact_id": contact_id, "values": values})
        elif data.get("name") or data.get("phone"):
            if data.get("DELETE"):
                continue
            changes.append({"action": "add", "contact_id": None, "values": values})
        else:
            continue
        form_index.append(index)
    return changes, form_index


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .csv)"))
