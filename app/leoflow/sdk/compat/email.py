"""`airflow.utils.email`: building MIME messages (what provider hooks that send mail reuse)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any


def get_email_address_list(addresses: str | Iterable[str]) -> list[str]:
    """`a@x, b@y; c@z` or a list -> the addresses."""
    if isinstance(addresses, str):
        for sep in (",", ";"):
            if sep in addresses:
                return [a.strip() for a in addresses.split(sep) if a.strip()]
        return [addresses]
    return list(addresses)


def build_mime_message(mail_from: str | None, to: str | Iterable[str], subject: str, html_content: str,
                       files: list[str] | None = None, cc: str | Iterable[str] | None = None,
                       bcc: str | Iterable[str] | None = None, mime_subtype: str = "mixed",
                       mime_charset: str = "utf-8", custom_headers: dict[str, Any] | None = None
                       ) -> tuple[MIMEMultipart, list[str]]:
    """(the message, every recipient) for html content with attachments."""
    to = get_email_address_list(to)
    msg = MIMEMultipart(mime_subtype)
    msg["Subject"] = subject
    if mail_from:
        msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    recipients = list(to)
    if cc:
        cc = get_email_address_list(cc)
        msg["CC"] = ", ".join(cc)
        recipients += cc
    if bcc:
        recipients += get_email_address_list(bcc)
    msg["Date"] = formatdate(localtime=True)
    msg.attach(MIMEText(html_content, "html", mime_charset))
    for fname in files or []:
        basename = os.path.basename(fname)
        with open(fname, "rb") as f:
            part = MIMEApplication(f.read(), Name=basename)
        part["Content-Disposition"] = f'attachment; filename="{basename}"'
        part["Content-ID"] = f"<{basename}>"
        msg.attach(part)
    for header_key, header_value in (custom_headers or {}).items():
        msg[header_key] = header_value
    return msg, recipients
