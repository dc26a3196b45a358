"""Template schema: the shipped templates load; bad documents fail naming the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.render.template import (
    TemplateError,
    builtin_template_ids,
    load_builtin,
    parse_params,
    parse_template,
)

TEMPLATES = Path(__file__).parents[2] / "chalicelib" / "render" / "templates"


def doc(template_id: str = "modern") -> dict:
    return json.loads((TEMPLATES / f"{template_id}.json").read_text())


def fields(exc: pytest.ExceptionInfo[TemplateError]) -> list[str]:
    return [e["field"] for e in exc.value.errors]


def test_at_least_six_templates_ship_and_validate():
    ids = builtin_template_ids()
    assert {"modern", "minimal", "energetic"} <= set(ids)
    assert len(ids) >= 6
    for template_id in ids:
        template = load_builtin(template_id)
        assert template.id == template_id
        assert template.canvas.width == 1080 and template.canvas.height == 1920
        assert 6 <= template.duration.min <= template.duration.default <= template.duration.max <= 60
        kinds = {layer.type for layer in template.layers}
        assert {"product_images", "title", "price", "cta", "logo", "captions"} <= kinds


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["layers"][2].update(size=5000), "layers.2.size"),
        (lambda d: d["layers"][2].update(font="nope"), "layers.2.font"),
        (lambda d: d["layers"][1]["box"].update(w=2000), "layers.1.box.w"),
        (lambda d: d["layers"][1]["box"].update(x=800, w=900), "layers.1.box"),
        (lambda d: d["background"].update(colors=["#12"]), "background.colors.0"),
        (lambda d: d["layers"][3].update(pulse={"amplitude": 2}), "layers.3.pulse.amplitude"),
        (lambda d: d["layers"].append({"type": "sparkles"}), "layers.7"),
        (lambda d: d.pop("background"), "background"),
        (lambda d: d.update(duration={"min": 6, "max": 60, "default": 90}), "duration.default"),
        (lambda d: d.update(duration={"min": 30, "max": 60, "default": 10}), "duration"),
        (lambda d: d.update(id="Bad Id!"), "id"),
        (lambda d: d.update(surprise=1), "surprise"),
    ],
)
def test_broken_template_names_the_field(mutate, field):
    data = copy.deepcopy(doc())
    mutate(data)
    with pytest.raises(TemplateError) as exc:
        parse_template(data)
    assert field in fields(exc), exc.value.errors
    assert exc.value.status == 422
    assert field in exc.value.message


def test_template_json_text_is_accepted_and_round_trips():
    template = load_builtin("energetic")
    again = parse_template(template.model_dump_json())
    assert again == template


def test_bad_params_name_the_field():
    with pytest.raises(TemplateError) as exc:
        parse_params({"accent_color": "red", "music_volume": 3})
    assert set(fields(exc)) == {"accent_color", "music_volume"}
    assert parse_params({"cta_text": "Buy"}).cta_text == "Buy"


def test_template_module_needs_only_pydantic():
    code = (
        "import sys, chalicelib.render, chalicelib.render.template as t; t.load_builtin('modern'); "
        "heavy = ('PIL', 'numpy', 'moviepy', 'imageio_ffmpeg', 'boto3'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
