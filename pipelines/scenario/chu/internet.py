"""The internet around the hospital: visitors', providers' and scanners' address blocks, and the
Tor exit list written beside the logs (tor-exits.txt)."""
from __future__ import annotations

import random
import zlib

# Internet addresses of the background (routable, so that GeoIP and the offline country data
# answer): French residential blocks for visitors, homes and vendors (RIR country FR), the
# mail providers' and crawlers' servers, and internet scanners abroad (RIR country US).
HOME_NETS = ("90.118.42", "78.201.64")
PROVIDER_NET = "193.252.22"
SCANNER_NET = "162.142.125"
# Anonymiser list written beside the logs (tor-exits.txt): Tor exit operators' blocks.
TOR_EXIT_NETS = ("185.220.100.0/22", "192.42.116.0/22", "199.249.230.0/24", "171.25.193.0/24",
                 "109.70.100.0/24", "23.129.64.0/24")


def fixed_ip(name: str, net: str = PROVIDER_NET, low: int = 130, span: int = 70) -> str:
    """A stable public address for a named host (CRC32 of the name, not hash())."""
    return f"{net}.{low + zlib.crc32(name.encode()) % span}"


def visitor_ip(rng: random.Random) -> str:
    """A residential or mobile internet address in France (see HOME_NETS)."""
    if rng.random() < 0.55:
        return f"{HOME_NETS[0]}.{rng.randint(1, 254)}"
    return f"{HOME_NETS[1]}.{rng.randint(1, 199)}"


def noise_ip(rng: random.Random) -> str:
    """An internet scanner's address (abroad, kept apart from visitors)."""
    return f"{SCANNER_NET}.{rng.randint(200, 254)}"


def tor_exits_text() -> str:
    """tor-exits.txt: an anonymiser list for --threat-list (one block a line)."""
    return ("# Tor exit relay operators' blocks (anonymiser list for vigie --threat-list)\n"
            + "".join(f"{net}\n" for net in TOR_EXIT_NETS))
