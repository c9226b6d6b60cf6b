"""Raise every labelled failure of shopapp with variable data through several call paths.

Prints one ECS-like JSON document per raised exception; `label` names the raising statement (and
the cause where the chain differs): the ground truth of the corpus.
"""

import json
import random
import sys
import tempfile
import traceback

from shopapp import api, orders, remote, storage


def scenarios(rng):
    user = f"user {rng.randint(1, 9999)}"
    word = rng.choice(["abc", "12x", "", "3.5", "seven", f"{rng.randint(1, 99)}kg"])
    missing = f"/srv/data/{rng.randint(1000, 9999)}/orders-{rng.randint(1, 99)}.json"
    host = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    bad_json = rng.choice(["{", "[1, 2", "{'a': 1}", "", "nul", f'{{"id": {rng.randint(1, 9)},}}'])
    yield "quantity.int", lambda: api.handle_quantity(word)
    yield "quantity.int", lambda: api.handle_checkout("A-1", word)
    yield "quantity.int", lambda: orders.parse_quantity(word)
    yield "order.keyerror", lambda: api.handle_checkout(f"B-{rng.randint(1, 999)}", "1")
    yield "order.keyerror", lambda: orders.get_order(f"C-{rng.randint(1, 999)}")
    yield "validate.user", lambda: orders.validate_user(user)
    yield "validate.item", lambda: orders.validate_item(user)
    yield "storage.missing", lambda: storage.load(missing)
    yield "storage.isdir", lambda: storage.load(tempfile.gettempdir())
    yield "config.json", lambda: api.handle_config(bad_json)
    yield "config.json", lambda: storage.load_config(bad_json)
    yield "payload.json", lambda: storage.load_payload(bad_json)
    yield "lookup.context", lambda: storage.lookup({str(i): i for i in range(rng.randint(0, 50))}, user)
    yield "describe.type", lambda: orders.describe(object())
    yield "tree.recursion", lambda: api.handle_tree(rng.randint(0, 30))
    yield (
        "batch.group",
        lambda: api.handle_import([rng.choice(["x", "1", "y2"]) for _ in range(rng.randint(3, 9))]),
    )
    # The same library failure reached from two statements of the program is two bugs (the program's
    # statement that called into the library keys it, as in Sentry; fingerprint.py, "Library frames").
    port = rng.randint(1000, 60000)
    prices = ("http.refused" if port % 2 else "http.timeout") + ".prices"
    yield prices, lambda: api.handle_prices(host, port)
    port2 = rng.randint(1000, 60000)
    stock = ("http.refused" if port2 % 2 else "http.timeout") + ".stock"
    yield stock, lambda: remote.fetch_stock(host, port2)


def main(seed, rounds):
    rng = random.Random(seed)
    for _ in range(rounds):
        for label, action in scenarios(rng):
            try:
                action()
            except BaseException as exc:  # every failure is a corpus entry
                if label == "batch.group" and not isinstance(exc, ExceptionGroup):
                    continue
                doc = {
                    "label": label,
                    "log": {"level": "error", "logger": "shopapp"},
                    "message": f"request failed: {exc}",
                    "error": {
                        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                        "message": str(exc),
                        "stack_trace": "".join(traceback.format_exception(exc)),
                    },
                }
                print(json.dumps(doc))
            else:
                if label != "batch.group":
                    raise AssertionError(f"scenario {label} did not raise")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
