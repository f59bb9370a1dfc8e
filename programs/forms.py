from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dealers.forms import MultipleFileField
from programs.models import (
    ApproverRole,
    DocumentStage,
    DocumentType,
    Industry,
    Program,
    VehicleModel,
)


class ListFilterForm(forms.Form):
    """The filters of a programs list, in the URL: search and status."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, statuses, placeholder="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")), *statuses]
        if placeholder:
            self.fields["q"].widget.attrs["placeholder"] = placeholder

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"query": data.get("q", ""), "status": data.get("status", "")}


class AccountForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18)
    industry = forms.ChoiceField(label=_("Industry"), choices=Industry.choices)
    province = forms.CharField(label=_("Province"), max_length=50)
    city = forms.CharField(label=_("City"), max_length=50)
    fleet_size = forms.IntegerField(label=_("Fleet size"), min_value=1, max_value=1_000_000)
    contact_name = forms.CharField(label=_("Contact name"), max_length=100)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30)
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    documents = MultipleFileField(
        label=_("Business licence"),
        required=False,
        help_text=_("PDF, JPEG, PNG, HEIC, TIFF or OFD"),
    )

    VALUE_FIELDS = (
        "company_name",
        "credit_code",
        "industry",
        "province",
        "city",
        "fleet_size",
        "contact_name",
        "contact_phone",
        "contact_email",
    )

    def values(self) -> dict:
        return {field: self.cleaned_data[field] for field in self.VALUE_FIELDS}


class ApplicationForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    dealer = forms.ModelChoiceField(label=_("Dealer"), queryset=None)
    vehicle_model = forms.ModelChoiceField(
        label=_("Requested model"), queryset=VehicleModel.objects.filter(is_active=True)
    )
    applicant_name = forms.CharField(label=_("Applicant"), max_length=100)
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    employee_number = forms.CharField(
        label=_("Employee number"), max_length=30, required=False, help_text=_("Associates")
    )
    company_entity = forms.CharField(
        label=_("Company entity"), max_length=200, required=False, help_text=_("Associates")
    )
    relation = forms.CharField(
        label=_("Relation to the employee"),
        max_length=50,
        required=False,
        help_text=_("Associates"),
    )
    organisation = forms.CharField(
        label=_("Organisation"), max_length=200, required=False, help_text=_("VIP")
    )
    title = forms.CharField(label=_("Title"), max_length=100, required=False, help_text=_("VIP"))
    media_outlet = forms.CharField(
        label=_("Media outlet"), max_length=200, required=False, help_text=_("Media")
    )
    press_card_number = forms.CharField(
        label=_("Press card number"), max_length=50, required=False, help_text=_("Media")
    )
    documents = MultipleFileField(label=_("Documents"), required=False)

    VALUE_FIELDS = (
        "applicant_name",
        "id_number",
        "employee_number",
        "company_entity",
        "relation",
        "organisation",
        "title",
        "media_outlet",
        "press_card_number",
    )

    def __init__(self, *args, dealers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(
            type__in=Program.APPLICATION_TYPES, is_active=True
        )
        self.fields["dealer"].queryset = dealers

    def values(self) -> dict:
        return {field: self.cleaned_data[field] for field in self.VALUE_FIELDS}


class QualificationForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())
    customer_name = forms.CharField(label=_("Customer"), max_length=100)
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    employer_name = forms.CharField(label=_("Employer"), max_length=200)
    employee_number = forms.CharField(label=_("Employee number"), max_length=30, required=False)
    documents = MultipleFileField(
        label=_("Proof of employment"),
        required=False,
        help_text=_("Housing fund or social insurance record"),
    )

    VALUE_FIELDS = ("customer_name", "id_number", "employer_name", "employee_number")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(
            type=Program.Type.EMPLOYEE, is_active=True
        )

    def values(self) -> dict:
        return {field: self.cleaned_data[field] for field in self.VALUE_FIELDS}


class ReassignForm(forms.Form):
    approver_name = forms.CharField(label=_("Approver"), max_length=100)
    approver_email = forms.EmailField(label=_("Approver email"))


class RuleForm(forms.Form):
    """A new rule version, pre-filled from the latest one."""

    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    eligible_models = forms.CharField(
        label=_("Eligible models"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: model code and support amount in CNY, e.g. M3-SDN 5000"),
    )
    max_units_per_customer = forms.IntegerField(label=_("Maximum units per customer"), min_value=1)
    period_days = forms.IntegerField(label=_("Rolling period (days)"), min_value=1)
    pre_application_required = forms.BooleanField(
        label=_("Pre-application required"), required=False
    )
    claim_window_days = forms.IntegerField(
        label=_("Claim window (days after invoice)"), min_value=1
    )
    approver_chain = forms.CharField(
        label=_("Approver chain"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One step per line, in order: role; name; email. Roles: %(roles)s")
        % {"roles": ", ".join(ApproverRole.values)},
    )
    qualification_required = forms.BooleanField(
        label=_("Qualification check needed"), required=False
    )
    entitlement_units = forms.IntegerField(label=_("Entitlement (units)"), min_value=0)
    validity_days = forms.IntegerField(label=_("Validity (days)"), min_value=1)
    note = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        documents = [(d.code, d.name) for d in DocumentType.objects.filter(is_active=True)]
        for stage, label in DocumentStage.choices:
            self.fields[f"documents_{stage}"] = forms.MultipleChoiceField(
                label=_("Documents: %(stage)s") % {"stage": label},
                choices=documents,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )

    @staticmethod
    def initial_from(rule) -> dict:
        if rule is None:
            return {"period_days": 365, "claim_window_days": 90, "validity_days": 180}
        initial = {
            field: getattr(rule, field)
            for field in (
                "max_units_per_customer",
                "period_days",
                "pre_application_required",
                "claim_window_days",
                "qualification_required",
                "entitlement_units",
                "validity_days",
            )
        }
        initial["eligible_models"] = "\n".join(
            f"{row['model']} {row['amount']}" for row in rule.eligible_models
        )
        initial["approver_chain"] = "\n".join(
            f"{step['role']}; {step['name']}; {step['email']}" for step in rule.approver_chain
        )
        for stage in DocumentStage.values:
            initial[f"documents_{stage}"] = rule.documents_for(stage)
        return initial

    def clean_eligible_models(self):
        rows = []
        for number, line in enumerate(self.cleaned_data["eligible_models"].splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                if len(parts) != 2:
                    raise InvalidOperation
                rows.append({"model": parts[0], "amount": str(Decimal(parts[1]))})
            except InvalidOperation:
                raise ValidationError(
                    _("Line %(n)s: write the model code and the amount, e.g. M3-SDN 5000.")
                    % {"n": number}
                ) from None
        return rows

    def clean_approver_chain(self):
        chain = []
        for number, line in enumerate(self.cleaned_data["approver_chain"].splitlines(), 1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(";")]
            if len(parts) != 3:
                raise ValidationError(_("Line %(n)s: write role; name; email.") % {"n": number})
            chain.append({"role": parts[0], "name": parts[1], "email": parts[2]})
        return chain

    def values(self) -> dict:
        data = self.cleaned_data
        values = {
            field: data[field]
            for field in (
                "eligible_models",
                "max_units_per_customer",
                "period_days",
                "pre_application_required",
                "claim_window_days",
                "approver_chain",
                "qualification_required",
                "entitlement_units",
                "validity_days",
                "note",
            )
        }
        values["required_documents"] = {
            stage: data[f"documents_{stage}"]
            for stage in DocumentStage.values
            if data.get(f"documents_{stage}")
        }
        return values
