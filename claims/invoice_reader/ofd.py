"""OFD invoices: the invoice's own XML when it carries one, else the page text. No OCR."""

import re
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from ssa_ops.ofd import OfdDocument, ofd_open

from .extract import DATE, Extraction, Page, Token, extract
from .fields import FieldReading

# Element names of the tax system's e-invoice XML (original_invoice.xml and its relatives).
XML_FIELDS = {
    "invoice_code": ("InvoiceCode",),
    "invoice_number": ("InvoiceNo", "InvoiceNumber"),
    "issue_date": ("IssueDate", "IssueTime"),
    "buyer_name": ("BuyerName",),
    "buyer_id": ("BuyerTaxID", "BuyerIdNum", "BuyerTaxId"),
    "seller_name": ("SellerName",),
    "seller_id": ("SellerTaxID", "SellerIdNum", "SellerTaxId"),
    "vin": ("VehicleIdentificationNumber", "VIN", "Vin"),
    "vehicle_model": ("BrandModel", "VehicleModel"),
    "price_excl_tax": ("TaxExclusiveTotalAmount", "TotalAmWithoutTax"),
    "tax_amount": ("TaxTotalAmount", "TotalTaxAm"),
    "total_amount": ("TaxInclusiveTotalAmount", "TotalTax-includedAmount"),
}
# OFD.xml DocInfo custom data names used by the tax system's OFD writers.
CUSTOM_DATA_FIELDS = {
    "invoice_code": "发票代码",
    "invoice_number": "发票号码",
    "issue_date": "开票日期",
    "buyer_id": "购买方纳税人识别号",
    "seller_id": "销售方纳税人识别号",
    "price_excl_tax": "合计金额",
    "tax_amount": "合计税额",
}
AMOUNT_FIELDS = ("price_excl_tax", "tax_amount", "total_amount")


def ofd_pages(document: OfdDocument) -> list[Page]:
    return [
        Page(page.width, page.height, [Token(*item) for item in page.texts])
        for page in document.pages
    ]


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _normal(name: str, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if name == "issue_date":
        match = re.search(DATE, value) or re.match(r"(\d{4})(\d{2})(\d{2})", value)
        if not match:
            return None
        year, month, day = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if name in AMOUNT_FIELDS:
        try:
            return f"{float(value.replace(',', '').lstrip('¥￥')):.2f}"
        except ValueError:
            return None
    return re.sub(r"\s+", "", value) if name.endswith(("_id", "_code", "_number")) else value


def xml_fields(content: bytes) -> dict[str, str]:
    """Field values from an e-invoice XML attachment; empty when it cannot be parsed."""
    try:
        root: Element = SafeElementTree.fromstring(content)
    except (DefusedXmlException, SafeElementTree.ParseError):
        return {}
    values = {}
    elements = {}
    for element in root.iter():
        elements.setdefault(_local(element.tag), element)
    for name, tags in XML_FIELDS.items():
        for tag in tags:
            element = elements.get(tag)
            if element is not None and element.text:
                normal = _normal(name, element.text)
                if normal:
                    values[name] = normal
                    break
    return values


def read_ofd(data: bytes) -> tuple[Extraction, str]:
    """The extraction and the engine name ("ofd-xml" when the XML gave the fields)."""
    document = ofd_open(data)
    text_result = extract(ofd_pages(document), "ofd-text")
    values = {}
    structured = document.structured_xml()
    if structured:
        values = xml_fields(structured)
    engine = "ofd-xml" if values else "ofd-text"
    for name, key in CUSTOM_DATA_FIELDS.items():
        if name not in values and document.custom_data.get(key):
            normal = _normal(name, document.custom_data[key])
            if normal:
                values.setdefault(name, normal)
    for name, value in values.items():
        found = text_result.fields.get(name)
        if found is not None and found.value == value:
            continue
        if found is not None:
            text_result.disagreements.append(name)
        # The XML is the invoice of record; the text only places it on the page.
        text_result.fields[name] = FieldReading(
            value=value, confidence=100, source="ofd-xml", box=found.box if found else None
        )
    return text_result, engine
