"""The dealer portal's forms: they gather values; the services check them."""

from django import forms
from django.utils.translation import gettext_lazy as _

from claims.models import PreApplication
from programs.models import CorporateAccount, Program, SpecialApplication


def _choices(queryset, label):
    return forms.ModelChoiceField(queryset=queryset, required=False, label=label)


class _DealerForm(forms.Form):
    def __init__(self, *args, dealer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["corporate_account"].queryset = CorporateAccount.objects.filter(
            dealer=dealer, status=CorporateAccount.Status.APPROVED
        )
        self.fields["special_application"].queryset = SpecialApplication.objects.filter(
            dealer=dealer, status=SpecialApplication.Status.APPROVED
        )

    def _ids(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name].pk if data.get(name) else None
            for name in ("program", "corporate_account", "special_application")
        }


class ClaimForm(_DealerForm):
    program = forms.ModelChoiceField(queryset=Program.objects.none(), label=_("Program"))
    corporate_account = _choices(CorporateAccount.objects.none(), _("Corporate account"))
    special_application = _choices(SpecialApplication.objects.none(), _("Special application"))
    pre_application = _choices(PreApplication.objects.none(), _("Pre-application"))
    vin = forms.CharField(label=_("VIN"), max_length=17)
    vehicle_model = forms.CharField(label=_("Model code"), max_length=30)
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=30)
    invoice_date = forms.DateField(
        label=_("Invoice date"), widget=forms.DateInput({"type": "date"})
    )
    invoice_amount = forms.DecimalField(
        label=_("Amount including tax (CNY)"), max_digits=12, decimal_places=2
    )
    buyer_name = forms.CharField(label=_("Buyer name"), max_length=200)
    buyer_id_number = forms.CharField(label=_("Buyer ID number"), max_length=18, required=False)
    buyer_credit_code = forms.CharField(label=_("Buyer credit code"), max_length=18, required=False)
    delivery_date = forms.DateField(
        label=_("Delivery date"), widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args, dealer, **kwargs):
        super().__init__(*args, dealer=dealer, **kwargs)
        self.fields["pre_application"].queryset = PreApplication.objects.filter(
            dealer=dealer, status=PreApplication.Status.APPROVED
        )

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            **self._ids(),
            "pre_application": data["pre_application"].pk if data["pre_application"] else None,
            "vin": data["vin"],
            "vehicle_model": data["vehicle_model"],
            "invoice_number": data["invoice_number"],
            "invoice_date": data["invoice_date"],
            "invoice_amount": data["invoice_amount"],
            "buyer_name": data["buyer_name"],
            "buyer_id_number": data["buyer_id_number"],
            "buyer_credit_code": data["buyer_credit_code"],
            "delivery_date": data["delivery_date"],
        }


class PreApplicationForm(_DealerForm):
    program = forms.ModelChoiceField(queryset=Program.objects.none(), label=_("Program"))
    corporate_account = _choices(CorporateAccount.objects.none(), _("Corporate account"))
    special_application = _choices(SpecialApplication.objects.none(), _("Special application"))
    customer_name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    customer_id_number = forms.CharField(
        label=_("Customer ID number"), max_length=18, required=False
    )
    delivery_month = forms.DateField(
        label=_("Expected delivery month"),
        widget=forms.DateInput({"type": "date"}),
        help_text=_("Any day of the month"),
    )

    LINES = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(1, self.LINES + 1):
            self.fields[f"model_{index}"] = forms.CharField(
                label=_("Model code %(n)s") % {"n": index}, max_length=30, required=index == 1
            )
            self.fields[f"units_{index}"] = forms.IntegerField(
                label=_("Units %(n)s") % {"n": index},
                min_value=1,
                max_value=1000,
                required=index == 1,
            )

    def clean(self):
        data = super().clean()
        for index in range(2, self.LINES + 1):
            if bool(data.get(f"model_{index}")) != bool(data.get(f"units_{index}")):
                self.add_error(f"units_{index}", _("Give the model and its units together."))
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            **self._ids(),
            "customer_name": data["customer_name"],
            "customer_id_number": data["customer_id_number"],
            "lines": [
                {"model": data[f"model_{index}"], "units": data[f"units_{index}"]}
                for index in range(1, self.LINES + 1)
                if data.get(f"model_{index}")
            ],
            "delivery_month": data["delivery_month"],
        }


class DocumentsForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Document"))
    documents = forms.FileField(label=_("Files"))

    def __init__(self, *args, checklist, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = checklist
