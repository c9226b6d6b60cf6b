from shopapp.orders import parse_quantity


def process_all(texts):
    errors = []
    for text in texts:
        try:
            parse_quantity(text)
        except ValueError as exc:
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"{len(errors)} of {len(texts)} lines failed", errors)
