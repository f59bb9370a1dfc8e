import io

from django.http import HttpResponse
from django.shortcuts import render
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ssa_ops.excel_export import workbook_open
from tests.personal_data_app.models import BuyerApplication
from tests.personal_data_app.registration import buyer_application_list


def application_list(request):
    return render(
        request,
        "personal_data_app/list.html",
        {"applications": buyer_application_list(user=request.user)},
    )


def application_export(request):
    output = io.BytesIO()
    workbook = workbook_open(output)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["number", "id_number", "phone"])
    for row, application in enumerate(buyer_application_list(user=request.user), start=1):
        sheet.write_row(
            row, 0, [application.number, str(application.id_number), str(application.phone)]
        )
    workbook.close()
    return HttpResponse(output.getvalue(), content_type="application/octet-stream")


class BuyerApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = BuyerApplication
        fields = ["id", "number", "id_number", "phone", "amount"]


class BuyerApplicationListApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        applications = buyer_application_list(user=request.user)
        return Response(BuyerApplicationSerializer(applications, many=True).data)
