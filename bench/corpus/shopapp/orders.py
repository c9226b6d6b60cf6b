ORDERS = {"A-1": {"qty": 2}}


def parse_quantity(text):
    return int(text)


def get_order(order_id):
    return ORDERS[order_id]


def validate_user(name):
    if not name.isidentifier():
        raise ValueError("invalid input")
    return name


def validate_item(name):
    if not name.isidentifier():
        raise ValueError("invalid input")
    return name


def checkout(order_id, quantity_text):
    order = get_order(order_id)
    order["qty"] = parse_quantity(quantity_text)
    return order


def describe(order):
    raise TypeError(f"cannot describe {order!r}:\n  unsupported object at {hex(id(order))}")
