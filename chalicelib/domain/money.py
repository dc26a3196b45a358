"""Money as TikTok sends it (decimal strings) and as ClickTok adds it up (integer minor units).

Never floats: ``"19.99"`` USD is ``1999``; ``"1500"`` JPY is ``1500`` (JPY has no minor unit). The
number of decimals comes from the currency (ISO 4217, with TikTok Shop's own practice for the
currencies it sends without decimals: IDR and VND).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Currencies whose amounts have no fractional part on TikTok Shop (ISO 4217 exponent 0, plus
# IDR, which ISO gives 2 decimals but TikTok Shop sends as whole rupiah).
_ZERO_DECIMALS = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "IDR",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def decimals(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (2 unless listed otherwise)."""
    code = currency.upper()
    if code in _ZERO_DECIMALS:
        return 0
    if code in _THREE_DECIMALS:
        return 3
    return 2


def to_minor(amount: str | int | None, currency: str) -> int:
    """``amount`` (a decimal string) in minor units of ``currency``; empty or None is 0.

    An amount finer than the currency's minor unit is an error, never silently rounded.
    """
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return 0
    if isinstance(amount, float):  # pragma: no cover - a programming error, caught loudly
        raise TypeError("amounts are decimal strings, never floats")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(decimals(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than {currency} allows")
    return int(scaled)


def from_minor(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as a decimal string: ``1999`` USD is ``"19.99"``."""
    places = decimals(currency)
    if places == 0:
        return str(int(minor))
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"
