"""Generated hostile files: each is small on disk and built to hold a parser's time or memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import docx
from pypdf import PdfWriter

_DOCUMENT_XML = "word/document.xml"
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _plain_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("A harmless paragraph.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _deflate_stream(chunks) -> tuple[bytes, int, int]:
    """(raw deflate data, inflated size, CRC-32 of everything)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, size, crc = [], 0, 0
    for chunk in chunks:
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        out.append(compressor.compress(chunk))
    out.append(compressor.flush())
    return b"".join(out), size, crc


def _zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already-deflated entries: (name, data, declared size, declared CRC)."""
    body, directory = io.BytesIO(), io.BytesIO()
    for name, data, size, crc in entries:
        offset = body.tell()
        encoded = name.encode()
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + encoded + data)
        directory.write(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset) + encoded
        )
    central = directory.getvalue()
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), body.tell(), 0
    )
    return body.getvalue() + central + end


def _docx_with(document_xml) -> tuple[list, bytes, int, int]:
    """The entries of a real DOCX, and `document_xml` (an iterable of byte chunks) deflated."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(_plain_docx())) as archive:
        for info in archive.infolist():
            if info.filename == _DOCUMENT_XML:
                continue
            raw = archive.read(info)
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = compressor.compress(raw) + compressor.flush()
            entries.append((info.filename, data, len(raw), zlib.crc32(raw)))
    data, size, crc = _deflate_stream(document_xml)
    return entries, data, size, crc


def docx_understating_its_size(inflated_mb: int = 600, declared: int = 5000) -> bytes:
    """document.xml inflates to `inflated_mb` MB but its headers say `declared` bytes, with
    the CRC of the declared prefix, so a reader that trusts the headers sees nothing wrong."""
    zeros = b"\0" * (1024 * 1024)
    entries, data, _size, _crc = _docx_with(zeros for _ in range(inflated_mb))
    prefix_crc = zlib.crc32(b"\0" * declared)
    return _zip([*entries, (_DOCUMENT_XML, data, declared, prefix_crc)])


def docx_of_empty_paragraphs(xml_mb: int = 60) -> bytes:
    """Honest sizes; `xml_mb` MB of `<w:p/>`: millions of XML elements for python-docx."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W}><w:body>'.encode()
    block = b"<w:p/>" * (1024 * 1024 // 6)
    chunks = [head, *(block for _ in range(xml_mb)), b"</w:body></w:document>"]
    entries, data, size, crc = _docx_with(chunks)
    return _zip([*entries, (_DOCUMENT_XML, data, size, crc)])


def html_nested(depth: int = 100_000) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"


def html_paragraphs(count: int = 40_000) -> bytes:
    return b"<html><body>" + b"<p>Paragraph of text.</p>" * count + b"</body></html>"


def text_mentioning_pdf() -> bytes:
    return b"Formats we accept: a PDF starts with %PDF-1.7 and ends with %%EOF.\nThanks!\n"


def pdf_with_unknown_encryption() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    encrypt = b"/Encrypt << /Filter /Standard /V 9 /R 9 /O (x) /U (y) /P -4 >>\n"
    return buffer.getvalue().replace(b"trailer\n<<", b"trailer\n<<\n" + encrypt, 1)


def pdf_with_a_content_bomb(inflated_mb: int = 500) -> bytes:
    """One page whose content stream inflates to `inflated_mb` MB of drawing operators."""
    from pypdf.generic import NameObject, NumberObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    operators = b"0 0 m " * (1024 * 1024 // 6)
    data, _, _ = _deflate_stream(operators for _ in range(inflated_mb))
    stream = StreamObject()
    stream._data = b"\x78\x9c" + data  # zlib header before the raw deflate data
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Length")] = NumberObject(len(stream._data))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_nested_dictionaries(depth: int = 20_000) -> bytes:
    """A page dictionary holding `depth` nested dictionaries: thousands of parser warnings."""
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    nest = b"<< /A " * depth + b"1" + b" >>" * depth
    return buffer.getvalue().replace(b"/Type /Page\n", b"/Type /Page\n/Junk " + nest + b"\n", 1)
