from shopapp import batch, orders, remote, storage, tree


def handle_checkout(order_id, quantity_text):
    return orders.checkout(order_id, quantity_text)


def handle_quantity(quantity_text):
    return orders.parse_quantity(quantity_text)


def handle_import(texts):
    return batch.process_all(texts)


def handle_tree(extra_depth):
    if extra_depth:
        return handle_tree(extra_depth - 1)
    return tree.depth(tree.cyclic())


def handle_prices(host, port):
    return remote.fetch_prices(host, port)


def handle_config(text):
    return storage.load_config(text)
