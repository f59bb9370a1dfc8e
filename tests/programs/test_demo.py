import io
import re

import pytest
from django.core.management import call_command

from programs.models import CorporateAccount, Program, Qualification, SpecialApplication


@pytest.mark.django_db(transaction=True)
def test_seed_demo_gives_programs_records_in_every_state_and_an_approver_link(client, settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert set(Program.objects.values_list("type", flat=True)) == set(Program.Type.values)
    assert all(program.rules.count() == 2 for program in Program.objects.all())
    assert set(CorporateAccount.objects.values_list("status", flat=True)) == set(
        CorporateAccount.Status.values
    )
    assert set(SpecialApplication.objects.values_list("status", flat=True)) == set(
        SpecialApplication.Status.values
    )
    assert set(Qualification.objects.values_list("status", flat=True)) >= {
        "draft",
        "checking",
        "passed",
        "failed",
        "approved",
    }
    # the printed link opens the application waiting for its second approver
    link = re.search(r"Approver link .*?: \S+(/links/\S+/)", out.getvalue()).group(1)
    page = client.get(link)
    assert page.status_code == 200 and "林嘉怡" in page.content.decode()
