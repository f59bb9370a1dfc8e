"""A safe reader for OFD documents (GB/T 33190, the format of China's e-invoices).

An OFD file is a zip of XML parts. Uploads are untrusted, so the archive is checked before
anything is unpacked: entry names may not leave the package, the number of entries, their
unpacked size and their compression ratio are bounded, and XML is parsed with entity
expansion and external references refused (defusedxml). Every refusal is an `OfdError`
with a stable `code`, so callers can store the code and render a message when it is read.

    document = ofd_open(data)
    for page in document.pages:
        for item in page.texts:  # (text, x, y, width, height) in millimetres, y downwards
            ...
    document.custom_data      # OFD.xml DocInfo/CustomDatas, e.g. {"发票号码": "..."}
    document.attachment_names()
    document.structured_xml() # the invoice's own XML attachment (bytes) or None
"""

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import NamedTuple
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

MAX_ENTRIES = 1000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ENTRY_BYTES = 20 * 1024 * 1024
# Deflate packs repetitive XML ten- to thirty-fold; a hundredfold entry of some size is a bomb.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_FROM_BYTES = 1024 * 1024
MAX_PAGES = 200
MAX_TEMPLATE_DEPTH = 4

# Default page size when a document declares none: A4, in millimetres.
A4 = (210.0, 297.0)

ERROR_CODES = (
    "empty",
    "not_zip",
    "encrypted",
    "unsafe_path",
    "duplicate_entry",
    "too_many_entries",
    "too_large",
    "compression_ratio",
    "missing_part",
    "bad_xml",
    "no_document",
    "too_many_pages",
)


class OfdError(Exception):
    """An OFD file that cannot be read safely; `code` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code

    def __repr__(self) -> str:
        return f"OfdError({self.code!r}, {self.message!r})"


class OfdText(NamedTuple):
    """A run of text on a page: its box in millimetres from the page's top left corner."""

    text: str
    x: float
    y: float
    width: float
    height: float


@dataclass
class OfdPage:
    """One page: its size in millimetres and its text, the page's templates included."""

    width: float
    height: float
    texts: list[OfdText] = field(default_factory=list)

    def text(self) -> str:
        """The page's text in reading order (top to bottom, left to right), one run a line."""
        ordered = sorted(self.texts, key=lambda item: (round(item.y / 2), item.x))
        return "\n".join(item.text for item in ordered)


@dataclass
class OfdDocument:
    """The first document of an OFD package: pages, DocInfo custom data and attachments."""

    pages: list[OfdPage]
    custom_data: dict[str, str]
    _archive: "_Archive" = field(repr=False)
    _attachments: dict[str, str] = field(default_factory=dict, repr=False)

    def attachment_names(self) -> list[str]:
        return list(self._attachments)

    def read_attachment(self, name: str) -> bytes:
        """An attachment's bytes by its declared name (or its file name); KeyError if absent."""
        if name in self._attachments:
            return self._archive.read(self._attachments[name])
        for path in self._attachments.values():
            if posixpath.basename(path) == name:
                return self._archive.read(path)
        raise KeyError(name)

    def structured_xml(self) -> bytes | None:
        """The invoice's structured XML attachment (e.g. `original_invoice.xml`), if any."""
        candidates = [path for path in self._attachments.values() if path.lower().endswith(".xml")]
        if not candidates:
            candidates = [
                name
                for name in self._archive.names
                if name.lower().endswith(".xml")
                and "/attachs/" in f"/{name.lower()}"
                and posixpath.basename(name).lower() != "attachments.xml"
            ]
        candidates.sort(key=lambda path: "invoice" not in path.lower())
        for path in candidates:
            try:
                return self._archive.read(path)
            except OfdError:
                continue
        return None

    def text(self) -> str:
        return "\n\n".join(page.text() for page in self.pages)


def ofd_open(data: bytes) -> OfdDocument:
    """Check and read an OFD package; raises OfdError when it is not a safe, readable OFD."""
    archive = _Archive(data)
    root = archive.xml("OFD.xml")
    body = _child(root, "DocBody")
    if body is None:
        raise OfdError("no_document", "OFD.xml has no DocBody")
    doc_root = _child_text(body, "DocRoot")
    if not doc_root:
        raise OfdError("no_document", "OFD.xml names no DocRoot")
    custom_data = {}
    info = _child(body, "DocInfo")
    if info is not None:
        datas = _child(info, "CustomDatas")
        for item in _children(datas, "CustomData") if datas is not None else []:
            name = item.get("Name")
            if name:
                custom_data[name] = (item.text or "").strip()
    document_path = archive.resolve("", doc_root)
    document = archive.xml(document_path)
    base = posixpath.dirname(document_path)
    pages = _read_pages(archive, document, base)
    attachments = _read_attachments(archive, document, base)
    return OfdDocument(
        pages=pages, custom_data=custom_data, _archive=archive, _attachments=attachments
    )


class _Archive:
    """The zip, checked as a whole on opening; parts are read on demand within the limits."""

    def __init__(self, data: bytes):
        if not data:
            raise OfdError("empty", "the file is empty")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
            raise OfdError("not_zip", f"not a zip archive: {error}") from None
        if len(infos) > MAX_ENTRIES:
            raise OfdError("too_many_entries", f"{len(infos)} entries, at most {MAX_ENTRIES}")
        total = 0
        self.names: list[str] = []
        seen = set()
        for info in infos:
            name = info.filename
            if not _safe_name(name):
                raise OfdError("unsafe_path", f"entry name not allowed: {name!r}")
            if name in seen:
                raise OfdError("duplicate_entry", f"entry twice: {name!r}")
            seen.add(name)
            if info.flag_bits & 0x1:
                raise OfdError("encrypted", f"encrypted entry: {name!r}")
            if info.file_size > MAX_ENTRY_BYTES:
                raise OfdError("too_large", f"entry {name!r} unpacks to {info.file_size} bytes")
            total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                raise OfdError("too_large", f"unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            if (
                info.file_size >= RATIO_CHECKED_FROM_BYTES
                and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
            ):
                raise OfdError("compression_ratio", f"entry {name!r} is compressed too far")
            if not name.endswith("/"):
                self.names.append(name)
        self._lower = {name.lower(): name for name in self.names}

    def resolve(self, base: str, location: str) -> str:
        """An entry name from a location in the package: absolute from the root or relative."""
        location = location.strip().replace("\\", "/")
        if location.startswith("/"):
            joined = location.lstrip("/")
        else:
            joined = posixpath.join(base, location) if base else location
        normal = posixpath.normpath(joined)
        if normal.startswith("..") or normal.startswith("/") or not _safe_name(normal):
            raise OfdError("unsafe_path", f"location leaves the package: {location!r}")
        if normal not in self.names and normal.lower() in self._lower:
            normal = self._lower[normal.lower()]
        return normal

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise OfdError("missing_part", f"missing part: {name!r}")
        try:
            with self.zip.open(name) as handle:
                # The declared size bounds what zipfile unpacks; read one byte more to be sure.
                content = handle.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as error:
            raise OfdError("not_zip", f"cannot unpack {name!r}: {error}") from None
        if len(content) > MAX_ENTRY_BYTES:
            raise OfdError("too_large", f"entry {name!r} is too large")
        return content

    def xml(self, name: str) -> Element:
        content = self.read(name)
        try:
            return SafeElementTree.fromstring(content)
        except DefusedXmlException as error:
            raise OfdError("bad_xml", f"{name}: refused XML construct ({error})") from None
        except SafeElementTree.ParseError as error:
            raise OfdError("bad_xml", f"{name}: {error}") from None


_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return False
    if _DRIVE.match(name):
        return False
    return ".." not in name.split("/")


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def _numbers(value: str | None) -> list[float]:
    if not value:
        return []
    try:
        return [float(part) for part in value.split()]
    except ValueError:
        return []


def _box(element: Element | None, name: str) -> tuple[float, float] | None:
    if element is None:
        return None
    for candidate in element.iter():
        if _local(candidate.tag) == name:
            numbers = _numbers(candidate.text)
            if len(numbers) == 4 and numbers[2] > 0 and numbers[3] > 0:
                return numbers[2], numbers[3]
    return None


def _read_pages(archive: _Archive, document: Element, base: str) -> list[OfdPage]:
    common = _child(document, "CommonData")
    default_size = _box(_child(common, "PageArea"), "PhysicalBox") if common is not None else None
    templates = {}
    if common is not None:
        for template in _children(common, "TemplatePage"):
            if template.get("ID") and template.get("BaseLoc"):
                templates[template.get("ID")] = archive.resolve(base, template.get("BaseLoc"))
    pages_element = _child(document, "Pages")
    entries = _children(pages_element, "Page") if pages_element is not None else []
    if len(entries) > MAX_PAGES:
        raise OfdError("too_many_pages", f"{len(entries)} pages, at most {MAX_PAGES}")
    pages = []
    for entry in entries:
        location = entry.get("BaseLoc")
        if not location:
            continue
        path = archive.resolve(base, location)
        content = archive.xml(path)
        size = _box(_child(content, "Area"), "PhysicalBox") or default_size or A4
        texts: list[OfdText] = []
        _collect_templates(archive, content, templates, texts, depth=0)
        texts.extend(_texts(content))
        pages.append(OfdPage(width=size[0], height=size[1], texts=texts))
    if not pages:
        raise OfdError("no_document", "the document has no pages")
    return pages


def _collect_templates(archive, content, templates, texts, depth):
    if depth >= MAX_TEMPLATE_DEPTH:
        return
    for reference in _children(content, "Template"):
        path = templates.get(reference.get("TemplateID", ""))
        if not path or path not in archive.names:
            continue
        template = archive.xml(path)
        _collect_templates(archive, template, templates, texts, depth + 1)
        texts.extend(_texts(template))


def _texts(content: Element) -> list[OfdText]:
    texts = []
    for text_object in content.iter():
        if _local(text_object.tag) != "TextObject":
            continue
        boundary = _numbers(text_object.get("Boundary"))
        if len(boundary) != 4:
            continue
        left, top = boundary[0], boundary[1]
        size = (_numbers(text_object.get("Size")) or [3.5])[0]
        for code in _children(text_object, "TextCode"):
            text = code.text or ""
            if not text.strip():
                continue
            x = (_numbers(code.get("X")) or [0.0])[0]
            y = (_numbers(code.get("Y")) or [size])[0]
            advances = _deltas(code.get("DeltaX"))
            width = sum(advances[: max(len(text) - 1, 0)]) + size
            if len(advances) < len(text) - 1:
                width = max(width, size * len(text) * 0.75)
            if code.get("DeltaY"):
                # Vertical runs (e.g. the cipher block): keep the box, the text is one item.
                width = max(width, boundary[2])
            texts.append(
                OfdText(
                    text=text.strip(),
                    x=round(left + x, 3),
                    y=round(top + y - size, 3),
                    width=round(width, 3),
                    height=round(size, 3),
                )
            )
    return texts


def _deltas(value: str | None) -> list[float]:
    """DeltaX/DeltaY with the 'g count value' shorthand expanded."""
    if not value:
        return []
    parts = value.split()
    result: list[float] = []
    index = 0
    try:
        while index < len(parts) and len(result) < 10_000:
            if parts[index] == "g" and index + 2 < len(parts):
                count = min(int(parts[index + 1]), 10_000)
                result.extend([float(parts[index + 2])] * count)
                index += 3
            else:
                result.append(float(parts[index]))
                index += 1
    except ValueError:
        return result
    return result


def _read_attachments(archive: _Archive, document: Element, base: str) -> dict[str, str]:
    location = _child_text(document, "Attachments")
    if not location:
        return {}
    try:
        path = archive.resolve(base, location)
        listing = archive.xml(path)
    except OfdError as error:
        if error.code == "unsafe_path":
            raise
        return {}
    folder = posixpath.dirname(path)
    attachments = {}
    for attachment in _children(listing, "Attachment"):
        file_location = _child_text(attachment, "FileLoc")
        if not file_location:
            continue
        entry = archive.resolve(folder, file_location)
        if entry in archive.names:
            name = attachment.get("Name") or posixpath.basename(entry)
            attachments[name] = entry
    return attachments
