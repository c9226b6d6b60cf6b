import tinyhttp


def fetch_prices(host, port):
    return tinyhttp.get(host, port, "/prices")


def fetch_stock(host, port):
    return tinyhttp.get(host, port, "/stock")
