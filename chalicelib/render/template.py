"""Video templates are data: a JSON document validated by this pydantic schema.

Pure pydantic, no Pillow, numpy or ffmpeg: the API validates tenants' templates with it (a bad one
gets 422 naming the field, see :class:`TemplateError`) without carrying the renderer's libraries.

Geometry is in canvas pixels of the 1080x1920 canvas; the 720x1280 preview scales everything by 2/3.
Times are seconds from the start; a negative time counts from the end (``-3`` = three seconds before
the end), so one template fits every duration from 6 to 60 seconds.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from chalicelib.errors import Unprocessable

CANVAS_WIDTH, CANVAS_HEIGHT, FPS = 1080, 1920, 30
PREVIEW_WIDTH, PREVIEW_HEIGHT = 720, 1280
MIN_SECONDS, MAX_SECONDS = 6.0, 60.0

Color = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")]
Seconds = Annotated[float, Field(ge=-MAX_SECONDS, le=MAX_SECONDS)]
FontFamily = Literal["Montserrat", "Roboto", "Default"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Canvas(_Model):
    width: Literal[1080] = CANVAS_WIDTH
    height: Literal[1920] = CANVAS_HEIGHT
    fps: Literal[30] = FPS
    preview_width: Literal[720] = PREVIEW_WIDTH
    preview_height: Literal[1280] = PREVIEW_HEIGHT


class DurationRules(_Model):
    min: float = Field(MIN_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS)
    max: float = Field(MAX_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS)
    default: float = Field(15.0, ge=MIN_SECONDS, le=MAX_SECONDS)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.default <= self.max:
            raise ValueError("must satisfy min <= default <= max")
        return self


class Timeline(_Model):
    fade_in: float = Field(0.3, ge=0, le=2)
    fade_out: float = Field(0.4, ge=0, le=2)
    fade_color: Color = "#000000"
    thumbnail_at: Seconds = Field(2.5, description="time of the thumbnail frame (clamped into the video)")


class Box(_Model):
    x: int = Field(ge=0, le=CANVAS_WIDTH)
    y: int = Field(ge=0, le=CANVAS_HEIGHT)
    w: int = Field(gt=0, le=CANVAS_WIDTH)
    h: int = Field(gt=0, le=CANVAS_HEIGHT)

    @model_validator(mode="after")
    def _inside(self) -> Self:
        if self.x + self.w > CANVAS_WIDTH or self.y + self.h > CANVAS_HEIGHT:
            raise ValueError(f"box must lie inside the {CANVAS_WIDTH}x{CANVAS_HEIGHT} canvas")
        return self


class Point(_Model):
    x: int = Field(ge=0, le=CANVAS_WIDTH)
    y: int = Field(ge=0, le=CANVAS_HEIGHT)


class Font(_Model):
    family: FontFamily = "Montserrat"
    weight: int = Field(700, ge=100, le=900)
    italic: bool = False


class Enter(_Model):
    kind: Literal["none", "fade", "slide_up", "slide_down", "slide_left", "slide_right", "fade_up"] = "fade"
    duration: float = Field(0.5, gt=0, le=3)
    distance: int = Field(160, ge=0, le=CANVAS_HEIGHT, description="slide distance in canvas pixels")


class Exit(_Model):
    kind: Literal["none", "fade"] = "none"
    duration: float = Field(0.4, gt=0, le=3)


class Timing(_Model):
    start: Seconds = 0.0
    end: Seconds | None = None


# Backgrounds ------------------------------------------------------------------------------------


class SolidBackground(_Model):
    kind: Literal["solid"]
    color: Color


class GradientBackground(_Model):
    kind: Literal["gradient"]
    colors: list[Color] = Field(min_length=2, max_length=4)
    angle: float = Field(
        180, ge=0, le=360, description="0 = left to right, 90 = bottom to top, 180 = top down"
    )


class BlurredImageBackground(_Model):
    kind: Literal["blurred_image"]
    blur: float = Field(40, ge=4, le=120)
    dim: float = Field(0.35, ge=0, le=0.9)
    tint: Color | None = None


class VideoBackground(_Model):
    kind: Literal["video"]
    dim: float = Field(0.3, ge=0, le=0.9)
    fallback: SolidBackground | GradientBackground | BlurredImageBackground = Field(discriminator="kind")


Background = Annotated[
    SolidBackground | GradientBackground | BlurredImageBackground | VideoBackground,
    Field(discriminator="kind"),
]


# Layers -----------------------------------------------------------------------------------------


class KenBurns(_Model):
    zoom_from: float = Field(1.0, ge=1.0, le=1.6)
    zoom_to: float = Field(1.15, ge=1.0, le=1.6)
    pan: Literal["none", "left", "right", "up", "down", "alternate"] = "alternate"


class ProductImagesLayer(_Model):
    type: Literal["product_images"]
    box: Box
    max_images: int = Field(3, ge=1, le=8)
    motion: KenBurns = KenBurns()
    transition: Literal["slide_left", "slide_up", "cut"] = "slide_left"
    transition_seconds: float = Field(0.5, ge=0, le=1.5)
    corner_radius: int = Field(0, ge=0, le=400)
    shadow: bool = False
    border_color: Color | None = None
    border_width: int = Field(0, ge=0, le=40)
    fill_color: Color = "#000000"
    timing: Timing = Timing()
    enter: Enter = Enter(kind="none")
    exit: Exit = Exit()


class _TextStyle(_Model):
    box: Box
    font: str = "heading"
    size: int = Field(72, ge=12, le=300)
    color: Color = "#ffffff"
    align: Literal["left", "center", "right"] = "center"
    max_lines: int = Field(2, ge=1, le=6)
    line_spacing: float = Field(1.15, ge=0.8, le=2)
    uppercase: bool = False
    stroke_color: Color | None = None
    stroke_width: int = Field(0, ge=0, le=20)
    shadow: bool = False
    backdrop: Color | None = None
    backdrop_radius: int = Field(24, ge=0, le=200)
    padding: int = Field(24, ge=0, le=200)
    timing: Timing = Timing()
    enter: Enter = Enter()
    exit: Exit = Exit()


class TitleLayer(_TextStyle):
    """The product name (or the ``headline`` parameter)."""

    type: Literal["title"]


class LabelLayer(_TextStyle):
    """Literal text of the template: a badge such as ``NEW IN`` or ``LIMITED OFFER``."""

    type: Literal["label"]
    text: str = Field(min_length=1, max_length=60)


class Pulse(_Model):
    amplitude: float = Field(0.08, ge=0, le=0.3)
    period: float = Field(1.2, ge=0.4, le=4)
    beat: float = Field(0.35, gt=0, le=1, description="fraction of the period the pulse lasts")


class PriceLayer(_Model):
    type: Literal["price"]
    center: Point
    font: str = "heading"
    size: int = Field(96, ge=12, le=300)
    color: Color = "#ffffff"
    backdrop: Color | None = None
    backdrop_radius: int = Field(32, ge=0, le=200)
    padding: int = Field(28, ge=0, le=200)
    shadow: bool = False
    pulse: Pulse | None = Pulse()
    timing: Timing = Timing(start=0.8)
    enter: Enter = Enter()
    exit: Exit = Exit()


class CtaLayer(_Model):
    type: Literal["cta"]
    text: str = Field("Shop now", min_length=1, max_length=40)
    center: Point
    font: str = "heading"
    size: int = Field(64, ge=12, le=200)
    color: Color = "#ffffff"
    backdrop: Color | None = "#ff2d55"
    backdrop_radius: int = Field(48, ge=0, le=200)
    padding: int = Field(30, ge=0, le=200)
    arrow: bool = True
    uppercase: bool = False
    shadow: bool = True
    animation: Literal["bounce", "pulse", "slide_up", "none"] = "bounce"
    amplitude: float = Field(
        24, ge=0, le=200, description="bounce height in canvas pixels or pulse scale x100"
    )
    period: float = Field(0.9, ge=0.3, le=4)
    timing: Timing = Timing(start=-4.0)
    enter: Enter = Enter(kind="fade_up")
    exit: Exit = Exit()


class LogoLayer(_Model):
    type: Literal["logo"]
    corner: Literal["top_left", "top_right", "bottom_left", "bottom_right"] = "top_right"
    width: int = Field(160, ge=32, le=540)
    margin: int = Field(48, ge=0, le=400)
    opacity: float = Field(0.85, ge=0.1, le=1)


class CaptionsLayer(_Model):
    type: Literal["captions"]
    box: Box
    font: str = "body"
    size: int = Field(54, ge=12, le=200)
    color: Color = "#ffffff"
    align: Literal["left", "center", "right"] = "center"
    max_lines: int = Field(2, ge=1, le=4)
    line_spacing: float = Field(1.15, ge=0.8, le=2)
    uppercase: bool = False
    stroke_color: Color | None = "#000000"
    stroke_width: int = Field(3, ge=0, le=20)
    shadow: bool = False
    backdrop: Color | None = None
    backdrop_radius: int = Field(20, ge=0, le=200)
    padding: int = Field(18, ge=0, le=200)
    timing: Timing = Timing(start=0.3)


Layer = Annotated[
    ProductImagesLayer | TitleLayer | LabelLayer | PriceLayer | CtaLayer | LogoLayer | CaptionsLayer,
    Field(discriminator="type"),
]


class Audio(_Model):
    music_volume: float = Field(0.35, ge=0, le=1)
    voice_volume: float = Field(1.0, ge=0, le=2)
    fade_in: float = Field(1.0, ge=0, le=5)
    fade_out: float = Field(1.5, ge=0, le=5)
    duck_ratio: float = Field(8.0, ge=1, le=20, description="sidechain compression of music under voice")
    style: Literal["upbeat", "chill", "pulse"] = Field("upbeat", description="the default generated track")


class Template(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=400)
    version: int = Field(1, ge=1)
    canvas: Canvas = Canvas()
    duration: DurationRules = DurationRules()
    timeline: Timeline = Timeline()
    fonts: dict[str, Font] = Field(default_factory=lambda: {"heading": Font(), "body": Font(weight=500)})
    colors: dict[str, Color] = Field(default_factory=dict, description="the palette, for display and params")
    background: Background
    layers: list[Layer] = Field(min_length=1, max_length=40)
    audio: Audio = Audio()

    @model_validator(mode="after")
    def _references(self) -> Self:
        for i, layer in enumerate(self.layers):
            font = getattr(layer, "font", None)
            if font is not None and font not in self.fonts:
                raise _field_error(("layers", i, "font"), f"unknown font {font!r}; define it under fonts")
        kinds = [layer.type for layer in self.layers]
        for unique in ("product_images", "price", "cta", "logo", "captions", "title"):
            if kinds.count(unique) > 1:
                raise _field_error(
                    ("layers", kinds.index(unique, kinds.index(unique) + 1)), "duplicate layer"
                )
        return self


class RenderParams(_Model):
    """Per-video choices a creator may pass (``params`` of ``POST /videos``)."""

    headline: str | None = Field(None, min_length=1, max_length=120, description="replaces the product title")
    cta_text: str | None = Field(None, min_length=1, max_length=40)
    accent_color: Color | None = Field(None, description="replaces the CTA and price backdrop colours")
    music_volume: float | None = Field(None, ge=0, le=1)
    show_price: bool = True


# Errors and loading -----------------------------------------------------------------------------


class _FieldError(ValueError):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def _field_error(loc: tuple[str | int, ...], message: str) -> _FieldError:
    return _FieldError(loc, message)


class TemplateError(Unprocessable):
    """A template or parameters failed validation; ``details`` lists ``{"field", "message"}``."""

    code = "invalid_template"

    def __init__(self, errors: list[dict[str, str]], *, what: str = "template") -> None:
        fields = ", ".join(e["field"] for e in errors[:5])
        super().__init__(f"invalid {what}: {fields}", details=errors)
        self.errors = errors


def _errors_of(exc: ValidationError) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        message = err["msg"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldError):
            loc, message = loc + list(cause.loc), cause.message
        # Drop the union tag pydantic inserts for discriminated unions (``layers.2.price.size``).
        if len(loc) >= 3 and loc[0] == "layers" and isinstance(loc[1], int) and loc[2] in _LAYER_TYPES:
            loc = loc[:2] + loc[3:]
        if loc and loc[0] == "background" and len(loc) > 1 and loc[1] in _BACKGROUND_KINDS:
            loc = loc[:1] + loc[2:]
        message = message.removeprefix("Value error, ")
        out.append({"field": ".".join(str(p) for p in loc) or "(root)", "message": message})
    return out


_LAYER_TYPES = {"product_images", "title", "label", "price", "cta", "logo", "captions"}
_BACKGROUND_KINDS = {"solid", "gradient", "blurred_image", "video"}


def parse_template(data: str | bytes | dict[str, Any]) -> Template:
    """Validate a template document; raises :class:`TemplateError` naming every bad field."""
    try:
        if isinstance(data, str | bytes):
            return Template.model_validate_json(data)
        return Template.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(_errors_of(exc)) from None


def parse_params(data: dict[str, Any] | None) -> RenderParams:
    try:
        return RenderParams.model_validate(data or {})
    except ValidationError as exc:
        raise TemplateError(_errors_of(exc), what="params") from None


def builtin_template_ids() -> list[str]:
    folder = resources.files("chalicelib.render") / "templates"
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


@cache
def load_builtin(template_id: str) -> Template:
    """One of the shipped templates (``modern``, ``minimal``, ...); KeyError when unknown."""
    if template_id not in builtin_template_ids():
        raise KeyError(template_id)
    text = (resources.files("chalicelib.render") / "templates" / f"{template_id}.json").read_text("utf-8")
    return parse_template(json.loads(text))


DEFAULT_TEMPLATE = "modern"
