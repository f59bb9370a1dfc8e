"""Find invoice fields in positioned text: by label and position first, then by shape.

The same code reads an OFD's text, a PDF's text layer and OCR output: each arrives as
tokens with a box on the page. Tokens are joined into lines (a tab where the gap is wide),
labelled values are read from the line after their label, and what is still missing is
looked for by its shape (a VIN with a valid check digit, three amounts that add up, ...).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from . import validators
from .fields import (
    FIELD_NAMES,
    FULLY_DIGITAL,
    MOTOR_VEHICLE,
    UNKNOWN,
    VAT_ELECTRONIC,
    VAT_NORMAL,
    VAT_SPECIAL,
    FieldReading,
)


@dataclass
class Token:
    """A run of text on a page, in the page's units, y growing downwards."""

    text: str
    x: float
    y: float
    width: float
    height: float
    confidence: float = 100.0


@dataclass
class Page:
    width: float
    height: float
    tokens: list[Token] = field(default_factory=list)


@dataclass
class Extraction:
    type: str = UNKNOWN
    fields: dict[str, FieldReading] = field(default_factory=dict)
    amount_in_words: str | None = None
    title: str = ""
    amount_in_words_box: tuple | None = None
    # Fields whose value differs between two sources of one document (e.g. OFD XML and page).
    disagreements: list[str] = field(default_factory=list)


@dataclass
class _Line:
    text: str
    spans: list[tuple[int, int, Token]]
    y: float
    height: float


def normalize(text: str) -> str:
    """Full-width forms to ASCII, no whitespace, yuan signs as ¥."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text)
    return text.replace("￥", "¥")


def build_lines(page: Page) -> list[_Line]:
    tokens = [token for token in page.tokens if normalize(token.text)]
    tokens.sort(key=lambda token: token.y + token.height / 2)
    rows: list[list[Token]] = []
    for token in tokens:
        center = token.y + token.height / 2
        best = None
        for row in rows[-6:]:
            row_center = sum(t.y + t.height / 2 for t in row) / len(row)
            row_height = max(t.height for t in row)
            if abs(center - row_center) < 0.5 * min(max(token.height, row_height), 2 * row_height):
                best = row
        if best is None:
            rows.append([token])
        else:
            best.append(token)
    lines = []
    for row in rows:
        row.sort(key=lambda token: token.x)
        height = sorted(t.height for t in row)[len(row) // 2]
        text = ""
        spans = []
        previous = None
        for token in row:
            if previous is not None:
                gap = token.x - (previous.x + previous.width)
                if gap > 1.5 * height:
                    text += "\t"
            piece = normalize(token.text)
            spans.append((len(text), len(text) + len(piece), token))
            text += piece
            previous = token
        top = min(t.y for t in row)
        lines.append(_Line(text=text, spans=spans, y=top, height=height))
    return lines


# Values by shape. The value patterns refuse to start or end inside a longer run of digits.
DATE = r"(\d{4})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})\s*日?"
AMOUNT = r"(?<![\d.])-?\d{1,3}(?:,?\d{3})*\.\d{2}(?![\d])"
VALUE_PATTERNS = {
    "invoice_code": r"(?<!\d)(\d{12}|\d{10})(?!\d)",
    "invoice_number": r"(?<!\d)(\d{20}|\d{8})(?!\d)",
    "issue_date": DATE,
    "party_id": r"(?<![0-9A-Z])([0-9A-Z]{20}|[0-9A-Z]{18}|[0-9A-Z]{17}|[0-9A-Z]{15})(?![0-9A-Z])",
    "vin": r"(?<![0-9A-Z])([0-9A-Z]{17})(?![0-9A-Z])",
    "amount": AMOUNT,
}
# The label vocabulary, used to refuse a label as a name.
LABEL_WORDS = (
    "名称",
    "纳税人识别号",
    "地址",
    "电话",
    "开户行",
    "账号",
    "密码区",
    "身份证",
    "组织机构代码",
    "统一社会信用代码",
    "车辆类型",
    "厂牌型号",
    "产地",
    "合格证号",
    "发动机号码",
    "价税合计",
    "备注",
    "项目名称",
    "货物或应税劳务",
    "销售方",
    "购买方",
    "规格型号",
    "单位",
    "数量",
    "单价",
    "金额",
    "税率",
    "税额",
)
# What may stand between a label and its value: a tab, colons, OCR's stray punctuation.
SEPARATORS = r"[\t:：;；,，.。'\"“”‘’、]*"
NAME_LABEL = r"(?<!项目)(?<!服务)(?<!劳务)(?:名\s*称|^称|名\s*[^\t\s称]\s*[:：])(?!及)[:：]?"


def fuzzy(label: str) -> str:
    """A label with any one character misread (OCR of small print often gets one wrong)."""
    variants = [label] + [label[:index] + "." + label[index + 1 :] for index in range(len(label))]
    return "(?:" + "|".join(variants) + ")"


LABELS = {
    "invoice_code": r"发?票代码[:：]?",
    "invoice_number": r"(?:发.|票)号码[:：]?|No[.:]?(?=\d{8})|N[o0º]\.?(?=\s?\d{8})",
    "issue_date": fuzzy("开票日期") + "[:：]?",
    "vin": fuzzy("车辆识别代号") + r"(?:/车架号码?)?[:：]?|车架号码?[:：]?",
    "vehicle_model": fuzzy("厂牌型号") + "[:：]?",
    "motor_buyer_name": r"购买方名称(?:及身份证号码/组织机构代码)?[:：]?|购货单位(?:\(人\))?[:：]?",
    "motor_buyer_id": (
        r"(?:纳税人识别号/统一社会信用代码/身份证(?:明)?号码|身份证号码/组织机构代码"
        r"|纳税人识别号/统一社会信用代码|" + fuzzy("纳税人识别号") + ")[:：]?"
    ),
    "motor_seller_name": r"销货单位名称[:：]?|销售方名称[:：]?|销货单位[:：]?",
    "motor_price": r"不含税价(?:\(小写\))?[:：]?|不含税价格[:：]?",
    "motor_tax": r"增值税税额[:：]?|税额[:：]?",
    "party_id": r"(?:统一社会信用代码/)?"
    + fuzzy("纳税人识别号")
    + r"[:：]?|统一社会信用代码[:：]?",
    "total": r"\(?小写\)?[:：]?|" + fuzzy("价税合计") + "[:：]?",
    # The 合计 row; OCR often loses 合, so any short start before a lone 计 will do.
    "total_row": r"^合\s*计|^合\t*计|^[^\t]{0,3}\t?计(?:\t|$)",
}


# The uppercase amount, with the glyphs OCR mistakes its numerals for.
WORDS_PATTERN = (
    "[零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整" + "".join(validators.LOOK_ALIKE_NUMERALS) + "]{2,}"
)


def _span_tokens(line: _Line, start: int, end: int) -> list[Token]:
    return [token for s, e, token in line.spans if s < end and e > start]


def _reading(
    value: str, line: _Line, start: int, end: int, page: Page, source: str, index: int
) -> FieldReading:
    tokens = _span_tokens(line, start, end) or [line.spans[0][2]]
    left = min(t.x for t in tokens)
    top = min(t.y for t in tokens)
    right = max(t.x + t.width for t in tokens)
    bottom = max(t.y + t.height for t in tokens)
    confidence = min(t.confidence for t in tokens)
    return FieldReading(
        value=value,
        confidence=int(round(max(0, min(100, confidence)))),
        source=source,
        page=index,
        box=(
            round(left / page.width, 4),
            round(top / page.height, 4),
            round((right - left) / page.width, 4),
            round((bottom - top) / page.height, 4),
        ),
    )


class _Finder:
    def __init__(self, page: Page, source: str, index: int):
        self.page = page
        self.source = source
        self.index = index
        self.lines = build_lines(page)

    def labelled(self, label: str, pattern: str, *, occurrence: int = 0, same_cell=False):
        """Values right after each label occurrence on its line, in reading order."""
        found = []
        for line in self.lines:
            for match in re.finditer(label, line.text):
                rest_start = match.end()
                rest = line.text[rest_start:]
                if same_cell:
                    rest = rest.split("\t", 1)[0] if not rest.startswith("\t") else rest
                    stripped = rest.lstrip("\t")
                    rest_start += len(rest) - len(stripped)
                    rest = stripped.split("\t", 1)[0]
                value = re.match(SEPARATORS + "(" + pattern + ")", rest)
                if value:
                    group = value.group(1)
                    start = rest_start + value.start(1)
                    found.append((line, start, start + len(group), group, value))
        return found[occurrence:]

    def shapes(self, pattern: str, region=None):
        """Every match of a shape, in reading order, optionally in a region of the page."""
        found = []
        for line in self.lines:
            for match in re.finditer(pattern, line.text):
                tokens = _span_tokens(line, match.start(), match.end())
                if region and tokens:
                    token = tokens[0]
                    cx = (token.x + token.width / 2) / self.page.width
                    cy = (token.y + token.height / 2) / self.page.height
                    left, top, right, bottom = region
                    if not (left <= cx <= right and top <= cy <= bottom):
                        continue
                found.append((line, match.start(), match.end(), match.group(0), match))
        return found

    def reading(self, value, line, start, end, via=""):
        source = self.source + (f":{via}" if via else "")
        return _reading(value, line, start, end, self.page, source, self.index)

    def all_text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def _clean_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _iso_date(match: re.Match) -> str | None:
    groups = re.match(DATE, match if isinstance(match, str) else match.group(0))
    if not groups:
        return None
    year, month, day = (int(part) for part in groups.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _amount(text: str) -> str | None:
    cleaned = text.replace(",", "").lstrip("¥Y")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return f"{value:.2f}"


# Letters that a credit code (GB 32100) or a VIN never contains, and the digit OCR took
# for them. Mapping them is not a correction toward a check: it is the only reading the
# alphabet allows, and the check still judges the result.
_CODE_DIGITS = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5"})
_VIN_DIGITS = str.maketrans({"O": "0", "I": "1", "Q": "0"})


def canonical_party_id(value: str) -> str:
    return value.translate(_CODE_DIGITS) if len(value) == 18 else value


def canonical_vin(value: str) -> str:
    return value.translate(_VIN_DIGITS)


def _name(text: str) -> str | None:
    value = text.strip("\t :：")
    value = re.split(r"\t", value)[0]
    value = re.sub(r"^(?:名?称)?[:：]", "", value)
    # The next cell's label read on the same line ends the name.
    value = re.split(
        r"密\s*码|密(?=[\d<>+\-*/])|名\s*称[:：]|纳税人识别号|备\s*注|电\s*话|(?<=公司)\d"
        r"|\(代开机关\)",
        value,
    )[0]
    value = re.sub(r"(?<=[\u4e00-\u9fff])\d+$", "", value)
    # Cell borders and stray marks read at either end of a name.
    value = re.sub(r"^[^\w(（]+|[^\w)）]+$", "", value).strip("丨｜「」")
    # A seal's words ("发票专用章") read after a name, an identifier read before it.
    value = re.sub(r"(?:发票)?(?:专用)?章$", "", value)
    value = re.sub(r"^[0-9A-Z]{6,}(?=[\u4e00-\u9fff])", "", value)
    # A name ends at 公司.
    tail = re.search(r"公司([^公司]{1,4})$", value)
    if tail:
        value = value[: tail.start(1)]
    # A seal's glyphs after 有限公司 are cut too; a branch (…分公司) is part of the name.
    tail = re.search(r"有限(?:责任)?公司(.{1,4})$", value)
    if tail and not tail.group(1).endswith("公司"):
        value = value[: tail.start(1)]
    if len(value) < 2 or not re.search(r"[\u4e00-\u9fff]", value):
        return None
    if any(word in value for word in LABEL_WORDS) and len(value) < 8:
        return None
    return value


def detect_type(text: str, number: str | None, code: str | None, has_vin: bool) -> str:
    flat = text.replace("\t", "").replace("\n", "")
    if "机动车销售统一发票" in flat or ("机动车" in flat and has_vin):
        return MOTOR_VEHICLE
    if number and len(number) == 20 and not code:
        return FULLY_DIGITAL
    if re.search(r"电子发票\((?:增值税专用发票|普通发票)\)", flat):
        return FULLY_DIGITAL
    if re.search(r"增值税电子?.?(?:普通|专用)发票", flat) and "电" in flat.split("发票")[0]:
        return VAT_ELECTRONIC
    if code and len(code) == 12 and code.endswith(("11", "13")):
        return VAT_ELECTRONIC
    if "专用发票" in flat or re.search(r"增值税专用|专用发", flat):
        return VAT_SPECIAL
    if "普通发票" in flat:
        return VAT_NORMAL
    if has_vin:
        return MOTOR_VEHICLE
    if code and len(code) == 10:
        # The eighth digit of a paper VAT code is the kind: 1 special, 6 normal.
        return VAT_SPECIAL if code[7] == "1" else VAT_NORMAL
    return UNKNOWN


def extract_page(page: Page, source: str, index: int = 0) -> Extraction:
    """Every field that can be found on one page."""
    finder = _Finder(page, source, index)
    fields: dict[str, FieldReading] = {}
    text = finder.all_text()

    def first(name, hits, convert=lambda value: value, via=""):
        for line, start, end, value, _match in hits:
            converted = convert(value)
            if converted:
                fields[name] = finder.reading(converted, line, start, end, via)
                return True
        return False

    first("invoice_code", finder.labelled(LABELS["invoice_code"], VALUE_PATTERNS["invoice_code"]))
    first(
        "invoice_number",
        finder.labelled(LABELS["invoice_number"], VALUE_PATTERNS["invoice_number"]),
        # Twenty digits are a fully digital invoice's number, and that invoice has no code.
        lambda value: None if len(value) == 20 and "invoice_code" in fields else value,
    )
    first("issue_date", finder.labelled(LABELS["issue_date"], DATE), _iso_date)
    first("vin", finder.labelled(LABELS["vin"], VALUE_PATTERNS["vin"]), canonical_vin)
    first(
        "vehicle_model",
        finder.labelled(LABELS["vehicle_model"], r"[^\t]{2,40}", same_cell=True),
        lambda value: re.sub(r"^[^\w(（]+|[^\w)）]+$", "", value) or None,
    )
    is_motor = "vin" in fields or "机动车" in text or "vehicle_model" in fields

    # Parties: explicit motor-vehicle labels, else the n-th "名称" and "纳税人识别号".
    names = finder.labelled(NAME_LABEL, r"[^\t]{2,60}", same_cell=True)
    party_ids = finder.labelled(LABELS["party_id"], VALUE_PATTERNS["party_id"])
    if is_motor:
        first(
            "buyer_name",
            finder.labelled(LABELS["motor_buyer_name"], r"[^\t]{2,60}", same_cell=True),
            _name,
        )
        first(
            "seller_name",
            finder.labelled(LABELS["motor_seller_name"], r"[^\t]{2,60}", same_cell=True),
            _name,
        )
        first(
            "buyer_id",
            finder.labelled(LABELS["motor_buyer_id"], VALUE_PATTERNS["party_id"]),
            canonical_party_id,
        )
        seller_ids = [hit for hit in party_ids if hit[0].y > _y(fields.get("seller_name"), page)]
        if "seller_name" in fields:
            first("seller_id", seller_ids, canonical_party_id)
    else:
        valid_names = [hit for hit in names if _name(hit[3])]
        ordered = _reading_order(valid_names)
        if ordered:
            first("buyer_name", ordered[:1], _name)
        if len(ordered) > 1:
            first("seller_name", ordered[1:2], _name)
        ordered_ids = _reading_order(party_ids)
        buyer_ids, seller_ids = _split_by_party(ordered_ids, fields, page)
        first("buyer_id", buyer_ids, canonical_party_id)
        first("seller_id", seller_ids, canonical_party_id)

    # Amounts: the total after 小写 / 价税合计, price and tax from their labels or the 合计 row.
    amount = r"[¥Y]?" + AMOUNT
    first("total_amount", finder.labelled(LABELS["total"], amount), _amount)
    if is_motor:
        first("price_excl_tax", finder.labelled(LABELS["motor_price"], amount), _amount)
        first("tax_amount", finder.labelled(LABELS["motor_tax"], amount), _amount)
    else:
        for line in finder.lines:
            if re.match(LABELS["total_row"], line.text):
                amounts = list(re.finditer(amount, line.text))
                if len(amounts) >= 2:
                    price, tax = amounts[-2], amounts[-1]
                    fields.setdefault(
                        "price_excl_tax",
                        finder.reading(_amount(price.group(0)), line, *price.span()),
                    )
                    fields.setdefault(
                        "tax_amount", finder.reading(_amount(tax.group(0)), line, *tax.span())
                    )
                    break
    words = None
    word_match = next(
        (
            match
            for match in re.finditer(WORDS_PATTERN, text)
            if re.search(r"[圆元角分整]", match.group(0))
        ),
        None,
    )
    words_box = None
    if word_match:
        words = word_match.group(0)
        for line in finder.lines:
            position = line.text.find(words)
            if position >= 0:
                words_box = finder.reading(words, line, position, position + len(words)).box
                break

    number = fields.get("invoice_number")
    if number is not None and len(number.value) == 20 and re.search(r"发.?代码|增值税电子", text):
        # Twenty digits on an invoice with a code: two numbers run together; not a value.
        del fields["invoice_number"]
    _by_shape(finder, fields, is_motor)
    invoice_type = detect_type(
        text,
        fields["invoice_number"].value if "invoice_number" in fields else None,
        fields["invoice_code"].value if "invoice_code" in fields else None,
        "vin" in fields,
    )
    title = ""
    title_match = re.search(r"[\u4e00-\u9fff()（）]{0,12}(?:发票|统一发票)(?:\([^)]*\))?", text)
    if title_match:
        title = title_match.group(0)
    return Extraction(
        type=invoice_type,
        fields=fields,
        amount_in_words=words,
        title=title,
        amount_in_words_box=words_box,
    )


def _split_by_party(hits, fields: dict, page: Page):
    """Identifier hits for the buyer and for the seller: each belongs to the party whose
    name is above it (stacked blocks) or on its side (side-by-side blocks). Without both
    names, the first hit is the buyer's and the second the seller's."""
    buyer, seller = fields.get("buyer_name"), fields.get("seller_name")
    if buyer is None or seller is None or buyer.box is None or seller.box is None:
        return hits[:1], hits[1:2]
    side_by_side = seller.box[0] - buyer.box[0] > 0.25 and abs(seller.box[1] - buyer.box[1]) < 0.05
    buyer_hits, seller_hits = [], []
    for hit in hits:
        tokens = _span_tokens(hit[0], hit[1], hit[2])
        if not tokens:
            continue
        x = tokens[0].x / page.width
        y = tokens[0].y / page.height
        if side_by_side:
            (seller_hits if x >= seller.box[0] - 0.05 else buyer_hits).append(hit)
        else:
            (seller_hits if y >= seller.box[1] - 0.02 else buyer_hits).append(hit)
    return buyer_hits[:1], seller_hits[:1]


def _y(reading: FieldReading | None, page: Page) -> float:
    if reading is None or reading.box is None:
        return 0.0
    return reading.box[1] * page.height


def _reading_order(hits):
    """Top to bottom; hits on one line (side-by-side buyer and seller) left to right."""
    return sorted(hits, key=lambda hit: (round(hit[0].y / max(hit[0].height, 1e-6) / 2), hit[1]))


def _by_shape(finder: _Finder, fields: dict, is_motor: bool) -> None:
    """Fill what the labels did not give from the values' shapes."""
    top = (0.0, 0.0, 1.0, 0.3)
    if "invoice_number" not in fields:
        # A 20-digit number is the fully digital invoice's, unless the invoice has a code or
        # it stands on the check code's (校验码) line.
        long_numbers = [
            hit
            for hit in finder.shapes(r"(?<!\d)\d{20}(?!\d)", top)
            if "校验" not in hit[0].text and "验码" not in hit[0].text
        ]
        if "invoice_code" in fields or "校验码" in finder.all_text():
            long_numbers = []
        hits = long_numbers or finder.shapes(r"(?<!\d)\d{8}(?!\d)", (0.55, 0.0, 1.0, 0.3))
        if hits:
            line, start, end, value, _ = hits[0]
            fields["invoice_number"] = finder.reading(value, line, start, end, "shape")
    if (
        "invoice_code" not in fields
        and len(fields.get("invoice_number", FieldReading()).value or "") != 20
    ):
        hits = finder.shapes(r"(?<!\d)(?:\d{12}|\d{10})(?!\d)", top)
        if hits:
            line, start, end, value, _ = hits[0]
            fields["invoice_code"] = finder.reading(value, line, start, end, "shape")
    if "issue_date" not in fields:
        for line, start, end, value, _ in finder.shapes(DATE):
            iso = _iso_date(value)
            if iso and validators.date_plausible(iso):
                fields["issue_date"] = finder.reading(iso, line, start, end, "shape")
                break
    if "vin" not in fields and is_motor:
        for line, start, end, value, _ in finder.shapes(VALUE_PATTERNS["vin"]):
            if validators.vin_valid(canonical_vin(value)):
                fields["vin"] = finder.reading(canonical_vin(value), line, start, end, "shape")
                break
    missing_ids = [name for name in ("buyer_id", "seller_id") if name not in fields]
    if missing_ids and not is_motor:
        hits = [
            hit
            for hit in finder.shapes(VALUE_PATTERNS["party_id"])
            if len(hit[3]) == 18 and validators.party_id_valid(canonical_party_id(hit[3]))
        ]
        taken = {fields[name].value for name in ("buyer_id", "seller_id") if name in fields}
        hits = [hit for hit in _reading_order(hits) if canonical_party_id(hit[3]) not in taken]
        if len(hits) == 2 and len(missing_ids) == 2:
            for name, hit in zip(missing_ids, hits, strict=True):
                value = canonical_party_id(hit[3])
                fields[name] = finder.reading(value, hit[0], hit[1], hit[2], "shape")
        elif len(hits) == 1 and len(missing_ids) == 1:
            # The one checked identifier left belongs to the party whose block holds it.
            buyer_hits, seller_hits = _split_by_party(hits, fields, finder.page)
            name = missing_ids[0]
            if buyer_hits if name == "buyer_id" else seller_hits:
                hit = hits[0]
                value = canonical_party_id(hit[3])
                fields[name] = finder.reading(value, hit[0], hit[1], hit[2], "shape")
    _amounts_by_shape(finder, fields)


def _amounts_by_shape(finder: _Finder, fields: dict) -> None:
    """Three printed amounts where price + tax = total fill or confirm the money fields."""
    names = ("price_excl_tax", "tax_amount", "total_amount")
    have = {name: fields[name].value for name in names if name in fields}
    if len(have) == 3 and validators.amounts_add_up(*(have[name] for name in names)):
        return
    hits = []
    for line, start, end, value, _ in finder.shapes(r"[¥Y]?" + AMOUNT):
        amount = _amount(value)
        if amount and Decimal(amount) > 0:
            hits.append((Decimal(amount), line, start, end))
    if not hits or len(hits) > 60:
        return
    values = sorted({hit[0] for hit in hits}, reverse=True)
    for total in values:
        if "total_amount" in have and Decimal(have["total_amount"]) != total:
            continue
        for price in values:
            if price >= total:
                continue
            tax = total - price
            if tax not in values or tax > price:
                continue
            if "price_excl_tax" in have and Decimal(have["price_excl_tax"]) != price:
                continue
            if "tax_amount" in have and Decimal(have["tax_amount"]) != tax:
                continue
            for name, amount in zip(names, (price, tax, total), strict=True):
                if name in fields:
                    continue
                hit = next(hit for hit in reversed(hits) if hit[0] == amount)
                fields[name] = finder.reading(f"{amount:.2f}", hit[1], hit[2], hit[3], "shape")
            return


def extract(pages: list[Page], source: str) -> Extraction:
    """The page with the most fields wins; others only fill what it lacks."""
    results = [extract_page(page, source, index) for index, page in enumerate(pages[:4])]
    if not results:
        return Extraction()
    results.sort(key=lambda result: -len(result.fields))
    best = results[0]
    for other in results[1:]:
        for name in FIELD_NAMES:
            if name not in best.fields and name in other.fields:
                best.fields[name] = other.fields[name]
    return best
