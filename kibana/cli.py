"""`logloop setup`, `logloop kibana import` and `logloop kibana export`.

Kibana settings come from the [kibana] section of the config file, overridden by LOGLOOP_KIBANA_*
environment variables, overridden by flags, read in one place (`kibana.settings`).

    [kibana]
    url = "https://kibana.example:5601"     # LOGLOOP_KIBANA_URL
    api_key = "..."                         # LOGLOOP_KIBANA_API_KEY
    username = "elastic"                    # LOGLOOP_KIBANA_USERNAME
    password = "..."                        # LOGLOOP_KIBANA_PASSWORD
    ca_certs = "/etc/ssl/kibana-ca.pem"     # LOGLOOP_KIBANA_CA_CERTS
    verify_certs = true
    allow_plain_http = false                # LOGLOOP_KIBANA_ALLOW_PLAIN_HTTP
    space = "ops"                           # LOGLOOP_KIBANA_SPACE
    timeout = 30.0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kibana import importer, objects, setup
from kibana.exceptions import KibanaConfigError
from kibana.settings import kibana_settings
from shipper import schema
from shipper.connection import Deployment, make_client


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "url": getattr(args, "kibana_url", None),
        "api_key": getattr(args, "api_key", None),
        "username": getattr(args, "user", None),
        "password": getattr(args, "password", None),
        "ca_certs": getattr(args, "ca_certs", None),
        "verify_certs": False if getattr(args, "insecure", False) else None,
        "space": getattr(args, "space", None),
    }


def _add_kibana_flags(parser: argparse.ArgumentParser, url_flag: str) -> None:
    parser.add_argument(url_flag, dest="kibana_url", metavar="URL", help="Kibana base URL ([kibana] url)")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", metavar="KEY", help="Kibana API key (base64 id:key as Kibana issues it)")
    auth.add_argument("--user", metavar="NAME", help="Kibana user (basic auth)")
    parser.add_argument(
        "--password", metavar="PASSWORD", help="password for --user (better: $LOGLOOP_KIBANA_PASSWORD)"
    )
    parser.add_argument("--ca-certs", metavar="FILE", help="CA certificate file to verify Kibana's TLS")
    parser.add_argument("--insecure", action="store_true", help="do not verify Kibana's TLS certificate")
    parser.add_argument(
        "--space", metavar="ID", help="Kibana space to import into (default: the default space)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    setup_parser = subparsers.add_parser(
        "setup", help="install the index template and, if Kibana is configured, the saved objects"
    )
    _add_kibana_flags(setup_parser, "--kibana-url")
    setup_parser.add_argument(
        "--wait-for-kibana",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for Kibana to become available before importing",
    )
    setup_parser.set_defaults(handler=run_setup)

    kibana_parser = subparsers.add_parser("kibana", help="Kibana saved objects: import or export")
    actions = kibana_parser.add_subparsers(dest="kibana_command", required=True, metavar="ACTION")
    import_parser = actions.add_parser("import", help="import the saved objects through Kibana's API")
    _add_kibana_flags(import_parser, "--url")
    import_parser.add_argument(
        "--file", type=Path, help="NDJSON file to import (default: generated for the index prefix)"
    )
    import_parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for Kibana to become available first (the compose kibana-objects service)",
    )
    import_parser.set_defaults(handler=run_import)
    export_parser = actions.add_parser("export", help="write the saved objects as NDJSON")
    export_parser.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export_parser.set_defaults(handler=run_export)


def _print_result(result: importer.ImportResult) -> None:
    print(f"imported {result.success_count} saved object(s); dashboard: {objects.DASHBOARD_TITLE!r}")


def run_setup(args: argparse.Namespace, settings: Deployment) -> int:
    kibana = kibana_settings(settings.section("kibana"), os.environ, _flags(args))
    es = make_client(settings.elasticsearch)
    try:
        report = setup.run_setup(
            es,
            settings.index_prefix,
            kibana,
            wait_for_kibana=args.wait_for_kibana,
            layout=schema.index_layout(settings.section("indices")),
            retention=settings.section("retention"),
        )
    finally:
        es.close()
    print(f"index template {report.template} installed for {report.index_pattern}")
    if report.lifecycle_policy:
        print(f"lifecycle policy {report.lifecycle_policy} deletes daily indices past [retention] events")
    else:
        print(
            "no index lifecycle management here: `logloop prune` (scheduled by `logloop schedule`) "
            "deletes daily indices past [retention] events"
        )
    if report.registry:
        print(f"group registry index {report.registry} ready")
    if report.kibana is None:
        print("no Kibana URL configured ([kibana] url or LOGLOOP_KIBANA_URL): saved objects not imported")
    else:
        _print_result(report.kibana)
    return 0


def run_import(args: argparse.Namespace, settings: Deployment) -> int:
    kibana = kibana_settings(settings.section("kibana"), os.environ, _flags(args))
    if kibana is None:
        raise KibanaConfigError("no Kibana URL: pass --url, set LOGLOOP_KIBANA_URL or [kibana] url")
    if args.wait > 0:
        importer.wait_until_available(kibana, args.wait)
    if args.file:
        try:
            ndjson = args.file.read_bytes()
        except OSError as exc:
            raise KibanaConfigError(f"cannot read {args.file}: {exc.strerror}") from None
        result = importer.import_ndjson(kibana, ndjson, filename=args.file.name)
    else:
        ndjson = objects.to_ndjson(objects.saved_objects(settings.index_prefix)).encode("utf-8")
        result = importer.import_ndjson(kibana, ndjson)
    for error in result.errors:
        print(f"  failed: {error}", file=sys.stderr)
    importer.raise_for_errors(result)
    _print_result(result)
    return 0


def run_export(args: argparse.Namespace, settings: Deployment) -> int:
    text = objects.to_ndjson(objects.saved_objects(settings.index_prefix))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
