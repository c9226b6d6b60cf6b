def depth(node):
    return 1 + depth(node["child"])


def cyclic():
    node = {}
    node["child"] = node
    return node
