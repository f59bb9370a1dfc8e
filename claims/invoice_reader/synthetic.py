"""Synthetic invoices with known truth, for tests and the bench.

`invoice_generate(rng, kind)` draws a layout (motor-vehicle sales unified invoice, paper VAT
special or normal, VAT e-invoice, fully digital) with valid check digits and amounts that
add up; `invoice_render(invoice, variant, rng)` turns it into a file in one of VARIANTS.
Text is drawn with the Noto CJK fonts from Debian's fonts-noto-cjk.
"""

import datetime
import io
import math
import random
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from dealers.credit_code import credit_code_generate

from .fields import (
    FIELD_NAMES,
    FULLY_DIGITAL,
    MOTOR_VEHICLE,
    VAT_ELECTRONIC,
    VAT_NORMAL,
    VAT_SPECIAL,
)
from .validators import (
    VIN_ALPHABET,
    amount_to_words,
    resident_id_check_character,
    vin_check_character,
)

KINDS = (MOTOR_VEHICLE, VAT_SPECIAL, VAT_NORMAL, VAT_ELECTRONIC, FULLY_DIGITAL)
IMAGE_VARIANTS = ("clean", "rotated", "noise_blur", "jpeg30", "low_contrast", "photo")
TEXT_VARIANTS = ("pdf_text", "ofd")
VARIANTS = IMAGE_VARIANTS + ("pdf_image",) + TEXT_VARIANTS
SCAN_DPI = 200

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts"))
BROWN = (150, 80, 40)
BLACK = (20, 20, 30)


def font_path(name: str = "NotoSerifCJK-Regular.ttc") -> Path:
    for folder in FONT_DIRS:
        direct = folder / name
        if direct.exists():
            return direct
        found = sorted(folder.rglob(name)) if folder.exists() else []
        if found:
            return found[0]
    raise FileNotFoundError(f"{name}: install the Debian package fonts-noto-cjk")


_FONTS: dict = {}


def _font(size_px: int, mono=False) -> ImageFont.FreeTypeFont:
    key = (size_px, mono)
    if key not in _FONTS:
        if mono:
            path = font_path("NotoSansCJK-Regular.ttc")
            _FONTS[key] = ImageFont.truetype(str(path), size_px, index=7)
        else:
            _FONTS[key] = ImageFont.truetype(str(font_path()), size_px, index=2)
    return _FONTS[key]


@dataclass
class Text:
    x: float  # millimetres from the left
    y: float  # millimetres from the top (top of the text)
    text: str
    size: float = 3.2  # millimetres
    color: tuple = BLACK
    mono: bool = False


@dataclass
class SyntheticInvoice:
    kind: str
    width: float
    height: float
    truth: dict
    words: str
    texts: list[Text] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)  # (x1, y1, x2, y2) in millimetres
    seller_box: tuple = (0, 0, 0, 0)


@dataclass
class SyntheticFile:
    invoice: SyntheticInvoice
    variant: str
    filename: str
    data: bytes
    image: Image.Image | None = None


CITIES = (
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "苏州",
    "无锡",
    "成都",
    "武汉",
    "天津",
    "重庆",
    "西安",
    "长沙",
    "郑州",
    "宁波",
    "青岛",
    "合肥",
)
BRANDS = (
    "华瑞",
    "鑫达",
    "恒通",
    "明远",
    "盛世",
    "永安",
    "金桥",
    "宏图",
    "长城",
    "东方",
    "新元",
    "瑞丰",
    "嘉禾",
    "博远",
    "中联",
    "天成",
    "安泰",
    "众诚",
)
TRADES = (
    "汽车销售服务",
    "商贸",
    "科技",
    "物流",
    "实业",
    "建设工程",
    "贸易",
    "信息技术",
    "汽车服务",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾".replace(" ", "")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
MODELS = (
    ("大众汽车牌", "SVW7"),
    ("丰田牌", "GTM7"),
    ("本田牌", "GHA7"),
    ("别克牌", "SGM7"),
    ("比亚迪牌", "BYD7"),
    ("吉利牌", "MR7"),
    ("长安牌", "SC7"),
    ("奥迪牌", "FV7"),
)
WMIS = ("LSV", "LFV", "LGB", "LVS", "LHG", "LBV", "LSG", "LGX", "LB3", "LDC")
VEHICLE_TYPES = ("轿车", "多用途乘用车", "运动型乘用车")
ITEMS = ("*经纪代理服务*代理费", "*信息技术服务*技术服务费", "*劳务*维护保养", "*办公用品*打印纸")


def _company(rng: random.Random, trade: str | None = None) -> str:
    return rng.choice(CITIES) + rng.choice(BRANDS) + (trade or rng.choice(TRADES)) + "有限公司"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _resident_id(rng: random.Random) -> str:
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 40 * 365))
    first17 = (
        f"{rng.choice((11, 31, 32, 33, 44, 51))}{rng.randrange(100, 9999):04d}"
        f"{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    )
    return first17 + resident_id_check_character(first17)


def _vin(rng: random.Random) -> str:
    letters = [char for char in VIN_ALPHABET if char.isalpha()]
    body = rng.choice(WMIS) + "".join(rng.choice(VIN_ALPHABET) for _ in range(5))
    year = rng.choice("LMNPRS")
    tail = year + rng.choice(letters + list("0123456789")) + f"{rng.randrange(0, 10**6):06d}"
    draft = body + "0" + tail
    return body + vin_check_character(draft) + tail


def _money(rng: random.Random, low: int, high: int, rate: Decimal):
    price = Decimal(rng.randrange(low * 100, high * 100)) / 100
    tax = (price * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return price, tax, price + tax


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def invoice_generate(rng: random.Random, kind: str) -> SyntheticInvoice:
    """A random invoice of `kind` with its truth (FIELD_NAMES; None where not printed)."""
    issued = datetime.date(2021, 1, 1) + datetime.timedelta(days=rng.randrange(0, 4 * 365))
    truth = dict.fromkeys(FIELD_NAMES)
    truth["issue_date"] = issued.isoformat()
    year = f"{issued:%y}"
    if kind == MOTOR_VEHICLE:
        truth["invoice_code"] = "1" + _digits(rng, 4) + year + "2" + _digits(rng, 4)
    elif kind == VAT_SPECIAL:
        truth["invoice_code"] = _digits(rng, 4) + year + _digits(rng, 1) + "130"
    elif kind == VAT_NORMAL:
        truth["invoice_code"] = "0" + _digits(rng, 4) + year + _digits(rng, 3) + "04"
    elif kind == VAT_ELECTRONIC:
        truth["invoice_code"] = "0" + _digits(rng, 4) + year + _digits(rng, 3) + "11"
    if kind == FULLY_DIGITAL:
        truth["invoice_number"] = year + _digits(rng, 2) + "2" + _digits(rng, 15)
    else:
        truth["invoice_number"] = _digits(rng, 8)
    if kind == MOTOR_VEHICLE:
        truth["seller_name"] = _company(rng, "汽车销售服务")
        if rng.random() < 0.5:
            truth["buyer_name"] = _person(rng)
            truth["buyer_id"] = _resident_id(rng)
        else:
            truth["buyer_name"] = _company(rng)
            truth["buyer_id"] = credit_code_generate(rng)
        truth["vin"] = _vin(rng)
        brand, prefix = rng.choice(MODELS)
        truth["vehicle_model"] = (
            brand + prefix + _digits(rng, 3) + rng.choice(("", "BM", "D", "AS"))
        )
        price, tax, total = _money(rng, 60_000, 450_000, Decimal("0.13"))
    else:
        truth["buyer_name"] = _company(rng)
        truth["buyer_id"] = credit_code_generate(rng)
        truth["seller_name"] = _company(rng)
        rate = rng.choice((Decimal("0.13"), Decimal("0.06"), Decimal("0.03")))
        price, tax, total = _money(rng, 100, 90_000, rate)
    truth["seller_id"] = credit_code_generate(rng)
    truth["price_excl_tax"] = f"{price:.2f}"
    truth["tax_amount"] = f"{tax:.2f}"
    truth["total_amount"] = f"{total:.2f}"
    words = amount_to_words(total)
    if kind == MOTOR_VEHICLE:
        return _motor_layout(rng, truth, words, issued)
    return _vat_layout(rng, kind, truth, words, issued)


def invoice_saying(rng: random.Random, kind: str, values: dict) -> SyntheticInvoice:
    """An invoice of `kind` that says `values` (FIELD_NAMES keys; a total alone gives price and
    tax at 13%), the rest random: the demo's invoices, matching their claims or not."""
    truth = {**invoice_generate(rng, kind).truth, **values}
    if "total_amount" in values and "price_excl_tax" not in values:
        total = Decimal(values["total_amount"])
        price = (total / Decimal("1.13")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        truth["price_excl_tax"], truth["tax_amount"] = f"{price:.2f}", f"{total - price:.2f}"
    issued = datetime.date.fromisoformat(truth["issue_date"])
    words = amount_to_words(Decimal(truth["total_amount"]))
    if kind == MOTOR_VEHICLE:
        return _motor_layout(rng, truth, words, issued)
    return _vat_layout(rng, kind, truth, words, issued)


def _date_text(value: str) -> str:
    year, month, day = value.split("-")
    return f"{year}年{month}月{day}日"


def _motor_layout(rng, truth, words, issued) -> SyntheticInvoice:
    invoice = SyntheticInvoice(MOTOR_VEHICLE, 241.0, 177.0, truth, words)
    texts, lines = invoice.texts, invoice.lines
    label = {"color": BROWN, "size": 3.0}
    texts += [
        Text(88, 8, "机动车销售统一发票", 6.0, BROWN),
        Text(108, 17, "发 票 联", 3.5, BROWN),
        Text(165, 9, "发票代码", **label),
        Text(182, 9, truth["invoice_code"], 3.2, mono=True),
        Text(165, 15, "发票号码", **label),
        Text(182, 15, truth["invoice_number"], 3.2, mono=True),
        Text(12, 20, "开票日期", **label),
        Text(28, 20, _date_text(truth["issue_date"]), 3.2),
        Text(165, 21, "机器编号", **label),
        Text(182, 21, _digits(rng, 12), 3.2, mono=True),
    ]
    left, right, top, row = 10.0, 231.0, 27.0, 11.5
    rows = [
        [(0, "购买方名称及身份证号码/组织机构代码"), (58, truth["buyer_name"])],
        [(0, "纳税人识别号/统一社会信用代码/身份证号码"), (66, truth["buyer_id"])],
        [
            (0, "车辆类型"),
            (24, rng.choice(VEHICLE_TYPES)),
            (62, "厂牌型号"),
            (84, truth["vehicle_model"]),
            (160, "产地"),
            (176, rng.choice(CITIES)),
        ],
        [
            (0, "合格证号"),
            (24, "W" + _digits(rng, 13)),
            (110, "进口证明书号"),
            (160, "商检单号"),
        ],
        [
            (0, "发动机号码"),
            (24, _digits(rng, 2) + rng.choice("ABCDEFGH") + _digits(rng, 6)),
            (90, "车辆识别代号/车架号码"),
            (130, truth["vin"]),
        ],
        [(0, "价税合计"), (24, "⊗" + words), (150, "小写"), (162, "¥" + truth["total_amount"])],
        [(0, "销货单位名称"), (30, truth["seller_name"]), (150, "电话"), (162, _digits(rng, 11))],
        [(0, "纳税人识别号"), (30, truth["seller_id"]), (150, "账号"), (162, _digits(rng, 16))],
        [
            (0, "地址"),
            (
                30,
                rng.choice(CITIES)
                + "市"
                + rng.choice(BRANDS)
                + "路"
                + str(rng.randrange(1, 999))
                + "号",
            ),
            (150, "开户银行"),
            (170, "中国工商银行"),
        ],
        [
            (0, "增值税税率或征收率"),
            (36, "13%"),
            (56, "增值税税额"),
            (80, "¥" + truth["tax_amount"]),
            (120, "主管税务机关及代码"),
            (160, "国家税务总局" + rng.choice(CITIES) + "市税务局"),
        ],
        [
            (0, "不含税价"),
            (24, "¥" + truth["price_excl_tax"]),
            (80, "完税凭证号码"),
            (140, "吨位"),
            (180, "限乘人数"),
            (200, str(rng.choice((5, 7)))),
        ],
    ]
    labels = {
        "购买方名称及身份证号码/组织机构代码",
        "纳税人识别号/统一社会信用代码/身份证号码",
        "车辆类型",
        "厂牌型号",
        "产地",
        "合格证号",
        "进口证明书号",
        "商检单号",
        "发动机号码",
        "车辆识别代号/车架号码",
        "价税合计",
        "小写",
        "销货单位名称",
        "电话",
        "纳税人识别号",
        "账号",
        "地址",
        "开户银行",
        "增值税税率或征收率",
        "增值税税额",
        "主管税务机关及代码",
        "不含税价",
        "完税凭证号码",
        "吨位",
        "限乘人数",
    }
    for index, cells in enumerate(rows):
        y = top + index * row
        lines.append((left, y, right, y))
        for offset, value in cells:
            is_label = value in labels
            mono = not is_label and any(char.isdigit() for char in value[:3]) and "¥" not in value
            texts.append(
                Text(
                    left + 2 + offset,
                    y + 3.8,
                    value,
                    2.8 if is_label else 3.2,
                    BROWN if is_label else BLACK,
                    mono=mono and len(value) > 12,
                )
            )
            if offset:
                lines.append((left + offset, y, left + offset, y + row))
    bottom = top + len(rows) * row
    lines += [(left, bottom, right, bottom), (left, top, left, bottom), (right, top, right, bottom)]
    texts.append(Text(12, bottom + 4, "销货单位盖章", 2.8, BROWN))
    texts.append(Text(90, bottom + 4, "开票人  " + _person(rng), 2.8, BROWN))
    invoice.seller_box = (40, top + 6 * row, 150, top + 9 * row)
    return invoice


def _vat_layout(rng, kind, truth, words, issued) -> SyntheticInvoice:
    digital = kind == FULLY_DIGITAL
    width, height = (240.0, 140.0) if kind in (VAT_SPECIAL, VAT_NORMAL) else (210.0, 140.0)
    invoice = SyntheticInvoice(kind, width, height, truth, words)
    texts, lines = invoice.texts, invoice.lines
    province = rng.choice(("北京", "上海", "江苏", "浙江", "广东", "四川", "天津"))
    title = {
        VAT_SPECIAL: f"{province}增值税专用发票",
        VAT_NORMAL: f"{province}增值税普通发票",
        VAT_ELECTRONIC: f"{province}增值税电子普通发票",
        FULLY_DIGITAL: rng.choice(("电子发票(增值税专用发票)", "电子发票(普通发票)")),
    }[kind]
    label = {"color": BROWN, "size": 3.0}
    right = width - 10
    texts.append(Text(width / 2 - len(title) * 3.2, 7, title, 6.2, BROWN))
    x_label = width - 68
    x_value = x_label + 17
    top_rows = []
    if not digital:
        top_rows.append(("发票代码:", truth["invoice_code"]))
    top_rows += [
        ("发票号码:", truth["invoice_number"]),
        ("开票日期:", _date_text(truth["issue_date"])),
    ]
    if kind in (VAT_NORMAL, VAT_ELECTRONIC):
        top_rows.append(("校验码:", " ".join(_digits(rng, 5) for _ in range(4))))
    for index, (name, value) in enumerate(top_rows):
        texts.append(Text(x_label, 8 + index * 5.5, name, **label))
        texts.append(Text(x_value, 8 + index * 5.5, value, 3.0, mono=value[0].isdigit()))
    if kind in (VAT_SPECIAL, VAT_NORMAL):
        texts.append(Text(12, 8, truth["invoice_code"], 3.6, mono=True))
        texts.append(Text(width / 2 + 8, 16, "No " + truth["invoice_number"], 4.0, (30, 30, 60)))
    if not digital:
        texts.append(Text(8, 25, "机器编号:", **label))
        texts.append(Text(24, 25, _digits(rng, 12), 3.0, mono=True))
    left = 6.0
    block_top = 31.0
    lines.append((left, block_top, right, block_top))
    if digital:
        half = (left + right) / 2
        for side, x0 in (("buyer", left), ("seller", half)):
            texts.append(Text(x0 + 7, block_top + 3, "名称:", **label))
            texts.append(Text(x0 + 17, block_top + 3, truth[f"{side}_name"], 3.0))
            texts.append(Text(x0 + 7, block_top + 12, "统一社会信用代码/纳税人识别号:", 2.6, BROWN))
            texts.append(Text(x0 + 50, block_top + 11.5, truth[f"{side}_id"], 3.4, mono=True))
        for index, (buyer_char, seller_char) in enumerate(
            zip("购买方信息", "销售方信息", strict=True)
        ):
            texts.append(Text(left + 1.5, block_top + 1 + index * 3.6, buyer_char, 2.6, BROWN))
            texts.append(Text(half + 1.5, block_top + 1 + index * 3.6, seller_char, 2.6, BROWN))
        lines.append((half, block_top, half, block_top + 20))
        table_top = block_top + 20
    else:
        buyer_rows = [
            ("名    称:", truth["buyer_name"]),
            ("纳税人识别号:", truth["buyer_id"]),
            ("地 址、电 话:", ""),
            ("开户行及账号:", ""),
        ]
        for index, (name, value) in enumerate(buyer_rows):
            y = block_top + 2 + index * 5.2
            texts.append(Text(left + 9, y, name, 2.8, BROWN))
            if value:
                texts.append(Text(left + 32, y - 0.2, value, 3.2, mono=value[0].isdigit()))
        for index, char in enumerate("购买方"):
            texts.append(Text(left + 2, block_top + 3 + index * 5, char, 2.8, BROWN))
        texts.append(Text(width - 90, block_top + 4, "密码区", 2.8, BROWN))
        for index in range(4):
            cipher = "".join(rng.choice("0123456789<>+-*/") for _ in range(27))
            texts.append(Text(width - 80, block_top + 1.5 + index * 4.8, cipher, 3.0, mono=True))
        table_top = block_top + 22
    lines.append((left, table_top, right, table_top))
    headers = [
        (10, "项目名称"),
        (62, "规格型号"),
        (88, "单位"),
        (102, "数量"),
        (120, "单价"),
        (width - 68, "金额"),
        (width - 44, "税率"),
        (width - 24, "税额"),
    ]
    for x, name in headers:
        texts.append(Text(left + x, table_top + 1.5, name, 2.8, BROWN))
    rate = (Decimal(truth["tax_amount"]) / Decimal(truth["price_excl_tax"]) * 100).quantize(1)
    item_y = table_top + 7
    texts += [
        Text(left + 2, item_y, rng.choice(ITEMS), 3.0),
        Text(left + 104, item_y, "1", 3.0),
        Text(left + 118, item_y, truth["price_excl_tax"], 3.0),
        Text(width - 66, item_y, truth["price_excl_tax"], 3.0),
        Text(width - 44, item_y, f"{rate}%", 3.0),
        Text(width - 26, item_y, truth["tax_amount"], 3.0),
    ]
    total_row = table_top + 38
    texts += [
        Text(left + 18, total_row, "合", 3.0, BROWN),
        Text(left + 32, total_row, "计", 3.0, BROWN),
        Text(width - 70, total_row, "¥" + truth["price_excl_tax"], 3.0),
        Text(width - 28, total_row, "¥" + truth["tax_amount"], 3.0),
    ]
    words_row = total_row + 7
    lines.append((left, words_row - 2, right, words_row - 2))
    texts += [
        Text(left + 10, words_row, "价税合计(大写)", 2.8, BROWN),
        Text(left + 56, words_row, "⊗" + words, 3.2),
        Text(width - 62, words_row, "(小写)", 2.8, BROWN),
        Text(width - 48, words_row, "¥" + truth["total_amount"], 3.4),
    ]
    seller_top = words_row + 6
    lines.append((left, seller_top, right, seller_top))
    if not digital:
        seller_rows = [
            ("名    称:", truth["seller_name"]),
            ("纳税人识别号:", truth["seller_id"]),
            ("地 址、电 话:", rng.choice(CITIES) + "市" + rng.choice(BRANDS) + "路88号"),
            ("开户行及账号:", "中国银行" + _digits(rng, 12)),
        ]
        for index, (name, value) in enumerate(seller_rows):
            y = seller_top + 2 + index * 5.2
            texts.append(Text(left + 9, y, name, 2.8, BROWN))
            texts.append(Text(left + 32, y - 0.2, value, 3.2, mono=value[0].isdigit()))
        for index, char in enumerate("销售方"):
            texts.append(Text(left + 2, seller_top + 3 + index * 5, char, 2.8, BROWN))
        texts.append(Text(width - 90, seller_top + 6, "备注", 2.8, BROWN))
        footer = seller_top + 24
        invoice.seller_box = (left + 30, seller_top, left + 110, seller_top + 22)
    else:
        texts.append(Text(left + 2, seller_top + 4, "备注", 2.8, BROWN))
        footer = seller_top + 18
        invoice.seller_box = (width / 2, block_top, right, block_top + 20)
    lines += [
        (left, footer - 1, right, footer - 1),
        (left, block_top, left, footer - 1),
        (right, block_top, right, footer - 1),
    ]
    texts += [
        Text(left + 2, footer + 1, "收款人:", 2.8, BROWN),
        Text(left + 60, footer + 1, "复核:", 2.8, BROWN),
        Text(left + 110, footer + 1, "开票人:", 2.8, BROWN),
        Text(left + 124, footer + 1, _person(rng), 3.0),
    ]
    return invoice


# Rendering.


def invoice_image(invoice: SyntheticInvoice, dpi: int = SCAN_DPI) -> Image.Image:
    scale = dpi / 25.4
    size = (round(invoice.width * scale), round(invoice.height * scale))
    image = Image.new("RGB", size, (252, 252, 248))
    draw = ImageDraw.Draw(image)
    for x1, y1, x2, y2 in invoice.lines:
        draw.line([(x1 * scale, y1 * scale), (x2 * scale, y2 * scale)], fill=BROWN, width=2)
    for text in invoice.texts:
        font = _font(max(8, round(text.size * scale)), mono=text.mono)
        draw.text((text.x * scale, text.y * scale), text.text, fill=text.color, font=font)
    return image


def text_boxes(invoice: SyntheticInvoice) -> list[tuple[str, float, float, float, float]]:
    """Each text's box in millimetres, measured with the font used to draw it."""
    scale = 20.0
    boxes = []
    for text in invoice.texts:
        font = _font(max(8, round(text.size * scale)), mono=text.mono)
        width = font.getlength(text.text) / scale
        boxes.append((text.text, text.x, text.y, width, text.size))
    return boxes


def _stamp(image: Image.Image, box_mm, scale, rng) -> Image.Image:
    """A red oval seal over the seller's block, text included, half transparent."""
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    x1, y1, x2, y2 = (value * scale for value in box_mm)
    cx = (x1 + x2) / 2 + rng.uniform(-10, 10) * scale
    cy = (y1 + y2) / 2
    rx, ry = 20 * scale, 13 * scale
    red = (215, 30, 40, 170)
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], outline=red, width=max(3, int(scale * 0.8)))
    font = _font(max(8, round(3.6 * scale)))
    draw.text((cx - 14 * scale, cy - 8 * scale), "发票专用章", fill=red, font=font)
    draw.text((cx - 16 * scale, cy + 1 * scale), "9" + _digits(rng, 17), fill=red, font=font)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _photo(image: Image.Image, invoice: SyntheticInvoice, rng: random.Random) -> Image.Image:
    import cv2

    scale = image.width / invoice.width
    image = _stamp(image, invoice.seller_box, scale, rng)
    width, height = image.size
    margin = int(0.12 * width)
    canvas_size = (width + 2 * margin, height + 2 * margin)
    background = np.full((canvas_size[1], canvas_size[0], 3), rng.randrange(60, 120), np.uint8)
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])

    def jitter(x, y):
        spread = 0.05 * width
        return [
            x + margin + rng.uniform(-spread, spread),
            y + margin + rng.uniform(-spread, spread),
        ]

    target = np.float32([jitter(0, 0), jitter(width, 0), jitter(width, height), jitter(0, height)])
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(
        np.asarray(image),
        matrix,
        canvas_size,
        borderMode=cv2.BORDER_TRANSPARENT,
        dst=background,
    )
    # Uneven light: a gradient across the sheet and a soft shadow.
    ys, xs = np.mgrid[0 : canvas_size[1], 0 : canvas_size[0]].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    gradient = np.cos(angle) * xs / canvas_size[0] + np.sin(angle) * ys / canvas_size[1]
    light = 0.78 + 0.22 * (gradient - gradient.min()) / (np.ptp(gradient) + 1e-6)
    shaded = np.clip(warped.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)
    photo = Image.fromarray(shaded).filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def invoice_render(invoice: SyntheticInvoice, variant: str, rng: random.Random) -> SyntheticFile:
    """The invoice as a file of one variant (an image, a PDF or an OFD)."""
    stem = f"{invoice.kind}-{variant}"
    if variant == "ofd":
        return SyntheticFile(invoice, variant, stem + ".ofd", ofd_bytes(invoice))
    image = invoice_image(invoice, 300 if variant.startswith("pdf") else SCAN_DPI)
    if variant == "pdf_text":
        return SyntheticFile(invoice, variant, stem + ".pdf", pdf_bytes(invoice, image, True))
    if variant == "pdf_image":
        return SyntheticFile(invoice, variant, stem + ".pdf", pdf_bytes(invoice, image, False))
    if variant == "rotated":
        angle = rng.choice((-1, 1)) * rng.uniform(2, 8)
        image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(235, 235, 230))
    elif variant == "noise_blur":
        pixels = np.asarray(image).astype(np.float32)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 18, pixels.shape)
        image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
        image = image.filter(ImageFilter.GaussianBlur(1.1))
    elif variant == "low_contrast":
        pixels = np.asarray(image).astype(np.float32)
        image = Image.fromarray((150 + pixels * 0.33).astype(np.uint8))
    elif variant == "photo":
        image = _photo(image, invoice, rng)
    buffer = io.BytesIO()
    if variant in ("jpeg30", "photo"):
        image.save(buffer, "JPEG", quality=30 if variant == "jpeg30" else 85)
        name = stem + ".jpg"
    else:
        image.save(buffer, "PNG")
        name = stem + ".png"
    return SyntheticFile(invoice, variant, name, buffer.getvalue(), image)


def pdf_bytes(invoice: SyntheticInvoice, image: Image.Image, with_text: bool) -> bytes:
    """A one-page PDF: the page image, and for `with_text` the text as a layer over it.

    The text uses the standard Chinese CID font STSong-Light with the UniGB-UCS2-H encoding,
    so no font file is embedded; it is drawn invisibly (render mode 3) over the image.
    """
    points = 72 / 25.4
    page_width, page_height = invoice.width * points, invoice.height * points
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    content = [f"q {page_width:.2f} 0 0 {page_height:.2f} 0 0 cm /Im0 Do Q"]
    if with_text:
        content.append("BT 3 Tr")
        for text, x, y, width, size in text_boxes(invoice):
            font_size = size * points
            count = max(len(text), 1)
            stretch = 100 * (width * points) / (count * font_size)
            baseline = page_height - (y + size * 0.88) * points
            encoded = text.encode("utf-16-be").hex().upper()
            content.append(
                f"/F1 {font_size:.2f} Tf {stretch:.1f} Tz 1 0 0 1 {x * points:.2f} "
                f"{baseline:.2f} Tm <{encoded}> Tj"
            )
        content.append("ET")
    stream = "\n".join(content).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_width:.2f} {page_height:.2f}] "
            "/Resources << /XObject << /Im0 4 0 R >> /Font << /F1 6 0 R >> >> "
            "/Contents 5 0 R >>"
        ).encode(),
        (
            f"<< /Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} "
            f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode "
            f"/Length {len(jpeg)} >>\nstream\n"
        ).encode()
        + jpeg
        + b"\nendstream",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [7 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
        b"/FontDescriptor 8 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
    ]
    output = io.BytesIO()
    output.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(output.tell())
        output.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = output.tell()
    output.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        output.write(f"{offset:010d} 00000 n \n".encode())
    output.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return output.getvalue()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ofd_bytes(invoice: SyntheticInvoice) -> bytes:
    """A minimal OFD: one page of TextObjects; e-invoices also carry their XML attachment."""
    namespace = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    objects = []
    for index, (text, x, y, width, size) in enumerate(text_boxes(invoice), start=10):
        count = max(len(text) - 1, 1)
        objects.append(
            f'<ofd:TextObject ID="{index}" Boundary="{x:.3f} {y:.3f} {width + 1:.3f} '
            f'{size * 1.3:.3f}" Font="1" Size="{size:.3f}"><ofd:TextCode X="0" '
            f'Y="{size:.3f}" DeltaX="g {count} {width / max(len(text), 1):.4f}">'
            f"{_xml_escape(text)}</ofd:TextCode></ofd:TextObject>"
        )
    page = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {namespace}><ofd:Content>'
        f'<ofd:Layer ID="2">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {namespace}><ofd:CommonData>'
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {invoice.width} {invoice.height}"
        "</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>"
        '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        + (
            "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>"
            if invoice.kind == VAT_ELECTRONIC
            else ""
        )
        + "</ofd:Document>"
    )
    root = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {namespace} DocType="OFD" '
        'Version="1.1"><ofd:DocBody><ofd:DocInfo><ofd:Author>China Tax</ofd:Author>'
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    entries = {
        "OFD.xml": root,
        "Doc_0/Document.xml": document,
        "Doc_0/Pages/Page_0/Content.xml": page,
    }
    if invoice.kind == VAT_ELECTRONIC:
        truth = invoice.truth
        entries["Doc_0/Attachs/Attachments.xml"] = (
            f'<ofd:Attachments {namespace}><ofd:Attachment ID="99" Name="original_invoice" '
            'Format="xml"><ofd:FileLoc>original_invoice.xml</ofd:FileLoc></ofd:Attachment>'
            "</ofd:Attachments>"
        )
        entries["Doc_0/Attachs/original_invoice.xml"] = (
            '<?xml version="1.0" encoding="utf-8"?><eInvoice '
            'xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019">'
            f"<fp:InvoiceCode>{truth['invoice_code']}</fp:InvoiceCode>"
            f"<fp:InvoiceNo>{truth['invoice_number']}</fp:InvoiceNo>"
            f"<fp:IssueDate>{_date_text(truth['issue_date'])}</fp:IssueDate>"
            f"<fp:Buyer><fp:BuyerName>{truth['buyer_name']}</fp:BuyerName>"
            f"<fp:BuyerTaxID>{truth['buyer_id']}</fp:BuyerTaxID></fp:Buyer>"
            f"<fp:Seller><fp:SellerName>{truth['seller_name']}</fp:SellerName>"
            f"<fp:SellerTaxID>{truth['seller_id']}</fp:SellerTaxID></fp:Seller>"
            f"<fp:TaxInclusiveTotalAmount>{truth['total_amount']}</fp:TaxInclusiveTotalAmount>"
            f"<fp:TaxTotalAmount>{truth['tax_amount']}</fp:TaxTotalAmount>"
            f"<fp:TaxExclusiveTotalAmount>{truth['price_excl_tax']}</fp:TaxExclusiveTotalAmount>"
            "</eInvoice>"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()
