"""CRC-16/ARC as the E27 link layer uses it (poly 0x8005 reflected, init 0, no final XOR)."""


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC over ``data``, continuing from ``crc`` so a frame can be summed in pieces."""
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc
