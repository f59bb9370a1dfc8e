"""A record that exists only in the tests: a buyer's application like the ones programs will
keep, declaring its personal fields the way an app does."""

from django.db import models

from ssa_ops.personal_data import PersonalDataField, PersonalHashField


class BuyerApplication(models.Model):
    """A buyer's application for a special-sales program (test-only)."""

    number = models.CharField("number", max_length=20)
    buyer_name = models.CharField("buyer name", max_length=100, blank=True)
    id_number = PersonalDataField("ID number", kind="id_number")
    id_number_hash = PersonalHashField(source="id_number")
    phone = PersonalDataField("phone", kind="phone")
    employee_number = PersonalDataField("employee number", kind="employee_number")
    amount = models.DecimalField("amount", max_digits=10, decimal_places=2, default=0)
    invoice_number = models.CharField("invoice number", max_length=20, blank=True)
    closed_at = models.DateTimeField("closed at", null=True, blank=True)
    on_hold = models.BooleanField("legal hold", default=False)

    class Meta:
        # The kit's label, so content types resolve it without installing an app; its table
        # is created by the tests' fixture and dropped after them.
        app_label = "ssa_ops"
        ordering = ["pk"]

    def __str__(self):
        return self.number
