"""Count SMS segments the way Twilio does (GSM 03.38 septets or UCS-2 code units)."""

# The GSM 03.38 basic character set (ESC excluded) and its extension table, whose characters
# cost two septets (an escape plus the character) and are never split across segments.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153  # multi-part messages lose 7 septets to the UDH
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm(text: str) -> bool:
    """Tell whether every character of a text fits the GSM-7 alphabet."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> tuple[str, int]:
    """Return the encoding ("GSM-7" or "UCS-2") and how many SMS segments a text takes."""
    if is_gsm(text):
        units = [2 if c in GSM_EXTENSION else 1 for c in text]
        return "GSM-7", _count(units, GSM_SINGLE, GSM_PART)
    # UTF-16 code units: an emoji outside the BMP is a surrogate pair that stays together.
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return "UCS-2", _count(units, UCS2_SINGLE, UCS2_PART)


def _count(units: list[int], single: int, part: int) -> int:
    """Pack characters of the given sizes into segments without splitting one."""
    if sum(units) <= single:
        return 1 if units else 0
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count
