"""The renderer Lambda: video jobs from the ``render`` queue into MP4s and thumbnails in S3.

Runs in the renderer's container image (``infra/``; its CMD is ``chalicelib.jobs.render.handler``),
never in the zip-packaged Chalice functions: it loads Pillow, numpy and ffmpeg. Locally the SQS pump
(``local/pumps.py``) feeds it the same events in-process.

Each message is ``{"tenant_id", "video_id"}``. Per job:

1. Powertools idempotency on ``[tenant_id, video_id]`` (the ``idempotency`` table): a message
   delivered twice renders once; a job already ``ready`` is not rendered again either way.
2. The job goes ``rendering``; the product's ready images are downloaded from S3 into a temporary
   folder under ``/tmp`` (removed afterwards), the music track is chosen, and the content key
   (:func:`chalicelib.render.render_key`) is computed from the template, product fields, params,
   the sha256 of every input file, size, duration and captions.
3. When ``videos/{key}.mp4`` and ``videos/{key}.jpg`` exist, they are reused: nothing is rendered
   (with ``videos/{key}-preview.mp4``, the animated preview, when there is one: renders stored
   before previews existed have none, and their jobs no ``preview_url``).
   Otherwise :func:`chalicelib.render.pipeline.render` renders them (``percent`` is written to the
   job at most every ``PROGRESS_STEP`` percent) and they are uploaded with ``videos/{key}.json`` and,
   for videos (not template previews), the animated preview.
4. The job goes ``ready`` (bytes, size, render time, key); a video's product's ClickTok ``status``
   becomes ``video_created`` (a shop product keeps its TikTok Shop status in ``shop_status``).

Failures: a permanent one (a broken image or template, no ready image, a product that is gone: the
renderer's ``reason``) fails THAT job with ``reason_code``/``reason`` and returns normally, so SQS does
not retry it; a transient one (S3, DynamoDB) raises, so the record is reported in
``batchItemFailures`` and redelivered (on the queue's last receive the job is failed as well, and
the message goes to the dead-letter queue).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import client
from chalicelib.observability import logger
from chalicelib.render import music, pipeline
from chalicelib.render.errors import RenderError
from chalicelib.render.keys import asset_digests, render_key
from chalicelib.render.template import Template, TemplateError, parse_template
from chalicelib.resources import QUEUES
from chalicelib.runtime import ensure_ready
from chalicelib.store.products import VIDEO_CREATED, ProductItem
from chalicelib.store.videos import FAILED, QUEUED, READY, RENDERING, VideoJobItem, video_object_keys

PROGRESS_STEP = 10.0
IDEMPOTENCY_SECONDS = 24 * 3600
MAX_IMAGES = 8  # the most a template's product_images layer shows
MAX_RECEIVES = next(q.max_receive_count for q in QUEUES if q.key == "render")

# A batch whose every record failed is reported like any other (``batchItemFailures``), not raised:
# the event source retries exactly those records either way, and the log shows no false crash.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class JobFailed(Exception):
    """A permanent failure of one job: retrying the message would fail the same way."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code, self.message = reason_code, message


# --- the Lambda handler ------------------------------------------------------------------------


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """One SQS batch; records that failed transiently come back in ``batchItemFailures``."""
    settings = ensure_ready()
    config = IdempotencyConfig(
        event_key_jmespath="[tenant_id, video_id]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    if context is not None:
        config.register_lambda_context(context)
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table("idempotency"), boto3_client=client("dynamodb")
    )
    run_once = idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=config)(
        process_job
    )

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        job = _job_of(record)
        if job is None:
            return {"status": "dropped"}
        logger.append_keys(tenant_id=job["tenant_id"], video_id=job["video_id"])
        try:
            return dict(run_once(job=job))
        except IdempotencyAlreadyInProgressError:
            logger.info("the job is being rendered by another delivery; this one will come back")
            raise
        except Exception as exc:
            if _receive_count(record) >= MAX_RECEIVES:
                _fail_quietly(job, "internal", f"the render failed {MAX_RECEIVES} times: {_short(exc)}")
            raise

    return process_partial_response(
        event=event, record_handler=record_handler, processor=_processor, context=context
    )


def _job_of(record: SQSRecord) -> dict[str, str] | None:
    try:
        message = json.loads(record.body)
        job = {"tenant_id": str(message["tenant_id"]), "video_id": str(message["video_id"])}
    except (ValueError, KeyError, TypeError):
        logger.error("malformed render message dropped", extra={"body": record.body[:200]})
        return None
    return job


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count or 1)
    except (TypeError, ValueError, KeyError):
        return 1


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


# --- one job -----------------------------------------------------------------------------------


def process_job(job: dict[str, str]) -> dict[str, Any]:
    """Render (or reuse) one job; returns a small summary (stored as the idempotency record)."""
    tenant_id, video_id = job["tenant_id"], job["video_id"]
    try:
        item = VideoJobItem.get(*VideoJobItem.key(tenant_id, video_id))
    except DoesNotExist:
        logger.info("job is gone (deleted); message dropped")
        return {"video_id": video_id, "status": "gone"}
    if item.status in (READY, FAILED):
        logger.info("job already finished; not rendered again", extra={"status": item.status})
        return {"video_id": video_id, "status": item.status, "skipped": True}
    started = time.perf_counter()
    _update(
        item,
        VideoJobItem.status.set(RENDERING),
        VideoJobItem.percent.set(0),
        VideoJobItem.started_at.set(datetime.now(UTC)),
        VideoJobItem.attempts.add(1),
        VideoJobItem.reason_code.remove(),
        VideoJobItem.reason.remove(),
    )
    try:
        outcome = _render_job(item, started)
    except JobFailed as exc:
        return _finish_failed(item, exc.reason_code, exc.message)
    except RenderError as exc:
        return _finish_failed(item, exc.reason, exc.message)
    except Exception as exc:
        # transient (S3, DynamoDB, ...): the job waits for the redelivery
        logger.exception("render interrupted; the message will be retried")
        try:
            _update(
                item,
                VideoJobItem.status.set(QUEUED),
                VideoJobItem.reason_code.set("retrying"),
                VideoJobItem.reason.set(f"interrupted ({_short(exc)}); it will be retried"),
            )
        except Exception:
            logger.exception("job not put back to queued")
        raise
    return outcome


def _render_job(item: VideoJobItem, started: float) -> dict[str, Any]:
    try:
        template = parse_template(item.template)
    except TemplateError as exc:
        raise JobFailed("bad_template", f"the template is not valid: {exc.message}") from None
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="clicktok-job-") as tmp:
        work = Path(tmp)
        product, product_fields = _product(item, work / "images")
        music_path = _music(item, template)
        voice = _voiceover(item, product.title, work, notes) if item.voiceover else None
        captions = _caption_lines(item.caption_text)
        digests = asset_digests(product.images, logo=product.logo, music=music_path, voice=voice)
        key = render_key(
            template,
            product_fields,
            dict(item.params or {}),
            digests,
            item.size,
            float(item.duration),
            caption_lines=captions,
        )
        stored = _stored_render(key)
        if stored is not None:
            logger.info("identical render exists; reused", extra={"render_key": key})
            return _finish_ready(item, key, stored, started, reused=True, notes=notes)
        result = pipeline.render(
            template,
            product,
            dict(item.params or {}),
            float(item.duration),
            work / "out",
            size=item.size,  # type: ignore[arg-type]
            caption_lines=captions,
            music=music_path,
            voice=voice,
            preview=item.job_kind == "preview",
            progress=_progress_writer(item),
            work_dir=work,
        )
        metadata = {**result.metadata, "render_key": key}
        _upload(key, result, metadata)
        facts = {
            "bytes": result.video.stat().st_size,
            "thumbnail_bytes": result.thumbnail.stat().st_size,
            "preview_bytes": result.preview.stat().st_size if result.preview else None,
            "width": metadata.get("width"),
            "height": metadata.get("height"),
        }
    return _finish_ready(item, key, facts, started, reused=False, notes=notes)


VOICEOVER_AUTO = ("true", "auto")


def _voiceover(item: VideoJobItem, title: str, work: Path, notes: list[str]) -> Path | None:
    """The job's voiceover synthesized into ``work``; on a TTS failure ``None`` and a note, never a failure.

    ``voiceover`` is the text to speak; ``"auto"`` (or ``"true"``) speaks the caption text, else the
    product title.
    """
    from chalicelib.integrations import tts

    text = (item.voiceover or "").strip()
    if text.lower() in VOICEOVER_AUTO:
        text = " ".join(_caption_lines(item.caption_text)) or title
    try:
        audio = tts.synthesize(text)
    except tts.TtsError as exc:
        logger.warning("voiceover skipped", extra={"error": _short(exc), "status": exc.status})
        notes.append(f"voiceover skipped: text to speech failed ({exc.message[:200]})")
        return None
    except Exception as exc:  # the secret store, a malformed secret: still not worth failing the video
        logger.exception("voiceover skipped")
        notes.append(f"voiceover skipped: text to speech failed ({_short(exc)})")
        return None
    if audio is None:
        notes.append("voiceover skipped: no text-to-speech provider is configured")
        return None
    path = work / f"voiceover{tts.audio_suffix(audio)}"
    path.write_bytes(audio)
    return path


def _caption_lines(text: str | None) -> list[str]:
    if not text:
        return []
    return [line.strip() for line in re.split(r"\r?\n", text) if line.strip()]


def _music(item: VideoJobItem, template: Template) -> Path | None:
    if item.music == "none":
        return None
    style = item.music or template.audio.style
    try:
        return music.track(style)
    except KeyError:
        raise JobFailed("bad_asset", f"unknown music style {style!r}") from None


def _product(item: VideoJobItem, folder: Path) -> tuple[pipeline.Product, dict[str, Any]]:
    """The product to render with its images downloaded into ``folder``, and its key fields."""
    folder.mkdir(parents=True, exist_ok=True)
    if item.product_id is None:  # a template preview without a product: the sample one
        from chalicelib.render.samples import sample_product

        sample = sample_product(Path(tempfile.gettempdir()) / "clicktok-sample-product")
        return sample, {"title": sample.title, "price": sample.price, "currency": sample.currency}
    try:
        product = ProductItem.get(item.tenant_id, item.product_id)
    except DoesNotExist:
        raise JobFailed("product_not_found", f"product {item.product_id!r} was deleted") from None
    images = _download_images(item.tenant_id, product, folder)
    fields = {"title": product.title, "price": product.price, "currency": product.currency or "USD"}
    return (
        pipeline.Product(
            title=product.title, price=product.price, currency=product.currency or "USD", images=tuple(images)
        ),
        fields,
    )


def _download_images(tenant_id: str, product: ProductItem, folder: Path) -> list[Path]:
    from chalicelib.services import product_images

    urls = list(product.image_urls or [])
    known = product_images.lookup(tenant_id, urls)
    ready = [known[url] for url in dict.fromkeys(urls) if url in known and known[url].status == "ready"]
    ready = [image for image in ready if image.s3_key][:MAX_IMAGES]
    if not ready:
        raise JobFailed(
            "no_image",
            f"product {product.product_id!r} has no ready image: add an image URL or fetch its images "
            "again (GET /products/{id}/images says why each one failed)",
        )
    s3 = client("s3")
    bucket = get_settings().bucket("media")
    paths = []
    for n, image in enumerate(ready):
        path = folder / f"{n:02d}-{Path(image.s3_key).name}"
        s3.download_file(bucket, image.s3_key, str(path))
        paths.append(path)
    return paths


def _stored_render(key: str) -> dict[str, Any] | None:
    """Sizes of the stored render of ``key`` when both its MP4 and thumbnail exist (and of its
    animated preview, None when it has none)."""
    s3 = client("s3")
    bucket = get_settings().bucket("media")
    keys = video_object_keys(key)
    heads: dict[str, Any] = {}
    for name in ("video", "thumbnail", "preview"):
        try:
            heads[name] = s3.head_object(Bucket=bucket, Key=keys[name])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            if name != "preview":
                return None
            heads[name] = None
    meta = heads["video"].get("Metadata") or {}
    return {
        "bytes": int(heads["video"]["ContentLength"]),
        "thumbnail_bytes": int(heads["thumbnail"]["ContentLength"]),
        "preview_bytes": int(heads["preview"]["ContentLength"]) if heads["preview"] else None,
        "width": int(meta["width"]) if meta.get("width") else None,
        "height": int(meta["height"]) if meta.get("height") else None,
    }


def _upload(key: str, result: pipeline.RenderResult, metadata: dict[str, Any]) -> None:
    s3 = client("s3")
    bucket = get_settings().bucket("media")
    keys = video_object_keys(key)
    immutable = "public, max-age=31536000, immutable"
    s3.upload_file(
        str(result.thumbnail),
        bucket,
        keys["thumbnail"],
        ExtraArgs={"ContentType": "image/jpeg", "CacheControl": immutable},
    )
    if result.preview is not None:
        s3.upload_file(
            str(result.preview),
            bucket,
            keys["preview"],
            ExtraArgs={"ContentType": "video/mp4", "CacheControl": immutable},
        )
    s3.put_object(
        Bucket=bucket,
        Key=keys["metadata"],
        Body=json.dumps(metadata, indent=2).encode(),
        ContentType="application/json",
    )
    # the MP4 last: a render is reused once its MP4 and thumbnail exist, so all else is stored by then
    s3.upload_file(
        str(result.video),
        bucket,
        keys["video"],
        ExtraArgs={
            "ContentType": "video/mp4",
            "CacheControl": immutable,
            "Metadata": {
                "width": str(metadata.get("width") or ""),
                "height": str(metadata.get("height") or ""),
                "duration": str(metadata.get("duration") or ""),
            },
        },
    )


def _progress_writer(item: VideoJobItem) -> Callable[[float], None]:
    """Writes ``percent`` to the job at most every ``PROGRESS_STEP`` percent (never failing the render)."""
    lock = threading.Lock()
    last = [0.0]

    def report(pct: float) -> None:
        with lock:
            if pct < last[0] + PROGRESS_STEP or pct >= 100:
                return
            last[0] = pct
        try:
            VideoJobItem(item.pk, item.sk).update(
                actions=[VideoJobItem.percent.set(round(pct, 1))],
                condition=VideoJobItem.status == RENDERING,
            )
        except Exception as exc:
            logger.info("progress not written", extra={"error": _short(exc)})

    return report


# --- job state ---------------------------------------------------------------------------------


def _update(item: VideoJobItem, *actions: Any) -> None:
    item.update(actions=list(actions), condition=VideoJobItem.sk.exists())


def _finish_ready(
    item: VideoJobItem,
    key: str,
    facts: dict[str, Any],
    started: float,
    *,
    reused: bool,
    notes: list[str],
) -> dict[str, Any]:
    seconds = round(time.perf_counter() - started, 3)
    actions = [
        VideoJobItem.status.set(READY),
        VideoJobItem.percent.set(100),
        VideoJobItem.render_key.set(key),
        VideoJobItem.reused.set(reused),
        VideoJobItem.bytes.set(facts["bytes"]),
        VideoJobItem.thumbnail_bytes.set(facts["thumbnail_bytes"]),
        VideoJobItem.render_seconds.set(seconds),
        VideoJobItem.notes.set(notes),
        VideoJobItem.finished_at.set(datetime.now(UTC)),
    ]
    for name in ("width", "height"):
        if facts.get(name):
            actions.append(getattr(VideoJobItem, name).set(int(facts[name])))
    preview = VideoJobItem.preview_bytes
    actions.append(preview.set(facts["preview_bytes"]) if facts.get("preview_bytes") else preview.remove())
    try:
        _update(item, *actions)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.info("job deleted while it rendered; the render stays for reuse")
        return {"video_id": item.video_id, "status": "gone", "render_key": key}
    if item.job_kind == "video" and item.product_id:
        _mark_product(item.tenant_id, item.product_id)
    logger.info("video ready", extra={"render_key": key, "reused": reused, "seconds": seconds})
    return {"video_id": item.video_id, "status": READY, "render_key": key, "reused": reused}


def _mark_product(tenant_id: str, product_id: str) -> None:
    try:
        ProductItem(tenant_id, product_id).update(
            actions=[ProductItem.status.set(VIDEO_CREATED)], condition=ProductItem.product_id.exists()
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.info("product deleted meanwhile; its status is not updated")


def _finish_failed(item: VideoJobItem, reason_code: str, reason: str) -> dict[str, Any]:
    logger.warning("video failed", extra={"reason_code": reason_code, "reason": reason})
    try:
        _update(
            item,
            VideoJobItem.status.set(FAILED),
            VideoJobItem.reason_code.set(reason_code),
            VideoJobItem.reason.set(reason[:1000]),
            VideoJobItem.finished_at.set(datetime.now(UTC)),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return {"video_id": item.video_id, "status": "gone"}
    return {"video_id": item.video_id, "status": FAILED, "reason_code": reason_code}


def _fail_quietly(job: dict[str, str], reason_code: str, reason: str) -> None:
    try:
        item = VideoJobItem.get(*VideoJobItem.key(job["tenant_id"], job["video_id"]))
        if item.status != READY:
            _finish_failed(item, reason_code, reason)
    except Exception:
        logger.exception("job not marked failed")
