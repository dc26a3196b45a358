"""The brand of a product, read from its name as TikTok Shop line items carry it.

Sellers title products ``"{Brand} {product}"`` ("CeraVe Moisturizing Cream 453g", "e.l.f. Power
Grip Primer"), but brands have spaces ("The Ordinary", "Glow Recipe"), punctuation ("e.l.f.") and
odd case ("COSRX"), so the first word is not enough. ``brand_of`` tries, in order:

1. the known-brand dictionary, longest match at the start of the name (case-insensitive, on a word
   boundary): "Glow Recipe Dew Drops" is Glow Recipe, never a shorter "Glow";
2. the longest known brand anywhere in the name as whole words ("Mini CeraVe Cleanser");
3. a fallback for brands not yet listed: the name's first word, when it looks like a proper name
   (starts with an upper-case letter or a digit, is not a generic word such as "New" or "Set").

Deterministic: the same name always gives the same brand, spelled as in the dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

KNOWN_BRANDS: tuple[str, ...] = (
    # beauty and personal care
    "Glow Recipe",
    "CeraVe",
    "The Ordinary",
    "Rare Beauty",
    "Fenty Beauty",
    "Medicube",
    "COSRX",
    "Laneige",
    "Tree Hut",
    "e.l.f.",
    "Olaplex",
    "Maybelline",
    "L'Oréal",
    "L'Oreal",
    "NYX",
    "Charlotte Tilbury",
    "Sol de Janeiro",
    "Drunk Elephant",
    "Summer Fridays",
    "Tatcha",
    "La Roche-Posay",
    "Neutrogena",
    "Cetaphil",
    "Beauty of Joseon",
    "Anua",
    "Skin1004",
    "Kylie Cosmetics",
    "Huda Beauty",
    "Milani",
    "Revlon",
    "Garnier",
    "Dove",
    "Nivea",
    "Bioderma",
    "Paula's Choice",
    # home, drinkware, electronics, fashion
    "Stanley",
    "Owala",
    "Hydro Flask",
    "YETI",
    "Dyson",
    "Shark",
    "Ninja",
    "Anker",
    "Apple",
    "Samsung",
    "JBL",
    "Bose",
    "Sony",
    "Beats",
    "Crocs",
    "Skims",
    "Nike",
    "Adidas",
    "New Balance",
    "Lululemon",
    "Gymshark",
    "Halara",
    "Shein",
    "Cuisinart",
    "KitchenAid",
    "Instant Pot",
)

_GENERIC = frozenset(
    {
        "new",
        "the",
        "a",
        "an",
        "set",
        "pack",
        "mini",
        "hot",
        "sale",
        "best",
        "original",
        "premium",
        "for",
        "with",
        "and",
        "of",
        "2pcs",
        "3pcs",
        "bundle",
        "gift",
        "free",
        "official",
        "authentic",
    }
)
_EDGE_PUNCTUATION = ",;:!?()[]{}\"'|-/\u2013\u2014"
_WORD = re.compile(r"[^\W_]", re.UNICODE)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


class BrandExtractor:
    """Longest-match lookup over a brand dictionary (see the module docstring)."""

    def __init__(self, brands: Iterable[str] = KNOWN_BRANDS) -> None:
        by_norm: dict[str, str] = {}
        for brand in brands:
            by_norm.setdefault(_norm(brand), brand)
        # longest first, so the first hit is the longest match
        self._brands = sorted(by_norm.items(), key=lambda item: (-len(item[0]), item[0]))

    @staticmethod
    def _bounded(text: str, start: int, end: int) -> bool:
        before_ok = start == 0 or not _WORD.match(text[start - 1])
        after_ok = end >= len(text) or not _WORD.match(text[end])
        return before_ok and after_ok

    def brand_of(self, name: str | None) -> str | None:
        if not name or not name.strip():
            return None
        text = _norm(name)
        for norm, brand in self._brands:
            if text.startswith(norm) and self._bounded(text, 0, len(norm)):
                return brand
        for norm, brand in self._brands:
            at = text.find(norm)
            while at >= 0:
                if self._bounded(text, at, at + len(norm)):
                    return brand
                at = text.find(norm, at + 1)
        return _fallback(name)


def _fallback(name: str) -> str | None:
    first = name.strip().split()[0].strip(_EDGE_PUNCTUATION)
    if len(first) < 2 or first.casefold() in _GENERIC:
        return None
    if not (first[0].isupper() or first[0].isdigit()):
        return None
    return first


_DEFAULT = BrandExtractor()


def brand_of(name: str | None) -> str | None:
    """The brand of a product named ``name``, or None when it has no recognisable brand."""
    return _DEFAULT.brand_of(name)


def brands_of(names: Iterable[str | None]) -> list[str]:
    """The distinct brands of several product names, in first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        brand = brand_of(name)
        if brand is not None:
            seen.setdefault(brand, None)
    return list(seen)
